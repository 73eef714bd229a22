//! The `.env` file: read from the working directory only, the way the README says.
//!
//! - Only `./.env` is read, never a parent directory's: a stray `../.env` must not be able to
//!   point the tool at another database, another state collection or another admin.
//! - Variables already set in the environment win over the file.
//! - dotenvy would replace `$VAR` and `${VAR}` in values that are not single-quoted, which
//!   silently changes a password with a `$` in it. A `$` outside single quotes is therefore
//!   refused, located, unless written `\$`; single-quoted values are taken as written.
//! - An error names the file, line and column, never the line's text: it may hold a secret.

use std::path::{Path, PathBuf};

/// Loads `./.env` into the environment, without overriding what is set. A missing file is
/// fine; a broken one is an error to show as is.
pub(crate) fn load() -> Result<(), String> {
    let path = std::env::current_dir()
        .map(|d| d.join(".env"))
        .unwrap_or_else(|_| PathBuf::from(".env"));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    if let Some((line, column)) = substitution(&text) {
        return Err(format!(
            "{}:{line}:{column}: `$` in this value would be replaced by the variable it names \
             (dotenvy substitutes $VAR and ${{VAR}} outside single quotes); put the value in \
             single quotes to keep it as written, or write \\$",
            path.display()
        ));
    }
    dotenvy::from_path(&path).map_err(|e| parse_error(&path, &text, &e))
}

/// The line and column (1-based) of the first `$` that dotenvy would substitute.
fn substitution(text: &str) -> Option<(usize, usize)> {
    for (n, line) in text.lines().enumerate() {
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let Some(eq) = line.find('=') else { continue };
        let value_start = eq + 1 + (line[eq + 1..].len() - line[eq + 1..].trim_start().len());
        let value = &line[value_start..];
        if value.starts_with('\'') {
            continue;
        }
        // An unquoted value ends at ` #` (a comment).
        let end = if value.starts_with('"') {
            value.len()
        } else {
            value.find(" #").unwrap_or(value.len())
        };
        let mut escaped = false;
        for (i, c) in value[..end].char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '$' if !escaped => return Some((n + 1, value_start + i + 1)),
                _ => escaped = false,
            }
        }
    }
    None
}

/// A dotenvy error as `path:line:column: …`. dotenvy reports the offending line's text and a
/// column, not the line number: the line is found again in the text, and never quoted.
fn parse_error(path: &Path, text: &str, e: &dotenvy::Error) -> String {
    match e {
        dotenvy::Error::LineParse(line, index) => {
            let number = text
                .lines()
                .position(|l| l.trim_end() == line.trim_end())
                .map(|n| n + 1);
            match number {
                Some(n) => mongodb_migrate_core::dotenv_location_message(path, n, index + 1),
                None => format!(
                    "{}: cannot parse a line of .env (at column {})",
                    path.display(),
                    index + 1
                ),
            }
        }
        dotenvy::Error::Io(io) => format!("cannot read {}: {io}", path.display()),
        _ => format!("cannot read {}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::substitution;

    #[test]
    fn a_dollar_outside_single_quotes_is_located() {
        assert_eq!(
            substitution("A=1\nMONGO_URI=mongodb://u:pa$ss@h/x\n"),
            Some((2, 25))
        );
        assert_eq!(substitution("X=\"a$b\""), Some((1, 5)));
        assert_eq!(substitution("export P = x$y"), Some((1, 13)));
    }

    #[test]
    fn single_quotes_escapes_and_comments_are_fine() {
        assert_eq!(substitution("P='pa$ss'\n"), None);
        assert_eq!(substitution("P=pa\\$ss\n"), None);
        assert_eq!(
            substitution("# $HOME is not read\nP=plain # costs $5\n"),
            None
        );
        assert_eq!(substitution("no equals sign $x\n"), None);
    }
}
