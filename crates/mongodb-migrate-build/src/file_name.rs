//! The migration file name pattern, `NNNN_snake_case.rs`.

/// The pattern every migration file name follows, as shown to users.
pub const FILE_NAME_PATTERN: &str = "NNNN_snake_case.rs";

/// Splits a migration stem `0012_add_flag` into its sequence number and name part, if the stem
/// follows the pattern: four or more digits, `_`, then a lowercase snake_case name.
pub(crate) fn parse_stem(stem: &str) -> Option<(u64, &str)> {
    let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
    if digits < 4 {
        return None;
    }
    let rest = stem[digits..].strip_prefix('_')?;
    if !is_snake_case(rest) {
        return None;
    }
    let sequence = stem[..digits].parse().ok()?;
    Some((sequence, rest))
}

/// `true` for a lowercase snake_case name: `add_flag`, `v2_backfill`; not `Add`, `_x`, `a__b`.
pub(crate) fn is_snake_case(name: &str) -> bool {
    let mut chars = name.chars();
    if !matches!(chars.next(), Some('a'..='z')) {
        return false;
    }
    !name.ends_with('_')
        && !name.contains("__")
        && name
            .chars()
            .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_pattern() {
        assert_eq!(
            parse_stem("0001_create_admin_user"),
            Some((1, "create_admin_user"))
        );
        assert_eq!(parse_stem("12345_v2_fix"), Some((12345, "v2_fix")));
    }

    #[test]
    fn rejects_everything_else() {
        for stem in [
            "001_short",
            "0001",
            "0001_",
            "0001-dash",
            "0001_Upper",
            "0001__double",
            "0001_trailing_",
            "0001_9start",
            "add_flag",
            "mod",
            "0001_sp ace",
            "99999999999999999999999_overflow",
        ] {
            assert_eq!(parse_stem(stem), None, "{stem}");
        }
    }
}
