//! The stored checksum format, versioned.
//!
//! A checksum is recorded when a migration is applied and compared with the binary's on every
//! run. Changing how it is computed would make every applied migration look changed, so the
//! algorithm has a version, and only values of the same version are compared:
//!
//! - **version 1**, today's, is stored untagged: 64 lowercase hex digits (SHA-256 of the
//!   migration's canonical token stream). Every checksum written so far is one.
//! - a later version is stored tagged, `v<N>:<value>`. A binary that does not know version N
//!   reports such a record as [`ChecksumState::OtherAlgorithm`], never as a change.
//!
//! [`ChecksumState::OtherAlgorithm`]: crate::ChecksumState::OtherAlgorithm

/// The checksum algorithm of this binary's plan (`mongodb-migrate-build` computes it).
pub const CHECKSUM_VERSION: u32 = 1;

/// A recorded checksum, split into its algorithm version and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredChecksum<'a> {
    /// The algorithm version: 1 when untagged.
    pub version: u32,
    /// The value without its tag.
    pub value: &'a str,
}

impl<'a> StoredChecksum<'a> {
    /// Reads a stored value: `v<N>:<value>` is version N, anything else version 1.
    ///
    /// ```
    /// use mongodb_migrate_core::checksum::StoredChecksum;
    /// assert_eq!(StoredChecksum::parse("ab12").version, 1);
    /// let v2 = StoredChecksum::parse("v2:ab12");
    /// assert_eq!((v2.version, v2.value), (2, "ab12"));
    /// ```
    pub fn parse(stored: &'a str) -> Self {
        let tagged = stored
            .strip_prefix('v')
            .and_then(|rest| rest.split_once(':'))
            .and_then(|(n, value)| Some((n.parse::<u32>().ok()?, value)));
        match tagged {
            Some((version, value)) => StoredChecksum { version, value },
            None => StoredChecksum {
                version: 1,
                value: stored,
            },
        }
    }

    /// Whether this binary can compare the value with its own (same algorithm version).
    pub fn comparable(&self) -> bool {
        self.version == CHECKSUM_VERSION
    }

    /// Whether it is `current`, a checksum of this binary's version; `None` when the versions
    /// differ and the values cannot be compared.
    pub fn matches(&self, current: &str) -> Option<bool> {
        self.comparable().then(|| self.value == current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untagged_is_version_one_and_tags_are_read() {
        let sha = "a30ddde7ff877033479fb4fecf486adbc321bd8adbd95c8cd1ad230bcd686d83";
        assert_eq!(StoredChecksum::parse(sha).matches(sha), Some(true));
        assert_eq!(StoredChecksum::parse(sha).matches("other"), Some(false));
        assert_eq!(
            StoredChecksum::parse(&format!("v1:{sha}")).matches(sha),
            Some(true)
        );
        assert_eq!(
            StoredChecksum::parse(&format!("v2:{sha}")).matches(sha),
            None
        );
        // Not a tag: a value of version 1 that happens to start with `v`.
        assert_eq!(StoredChecksum::parse("vx:1").version, 1);
        assert_eq!(StoredChecksum::parse("v:1").version, 1);
    }
}
