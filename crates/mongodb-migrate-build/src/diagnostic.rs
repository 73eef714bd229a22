//! Collected, located problems, rendered like rustc's with codespan-reporting.

use std::fmt;
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label as CsLabel};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor::Ansi, Chars, Config};

/// Index of a source file inside a [`Report`].
pub(crate) type FileId = usize;

/// A located piece of text a diagnostic points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Label {
    pub(crate) file: FileId,
    pub(crate) range: Range<usize>,
    pub(crate) message: String,
}

impl Label {
    pub(crate) fn new(file: FileId, range: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            file,
            range,
            message: message.into(),
        }
    }
}

/// One problem found in `migrations/`: a message, where it is, and a one-line hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub(crate) message: String,
    pub(crate) primary: Option<Label>,
    pub(crate) secondary: Vec<Label>,
    pub(crate) notes: Vec<String>,
    pub(crate) help: Option<String>,
}

impl Diagnostic {
    pub(crate) fn error(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    pub(crate) fn at(
        mut self,
        file: FileId,
        range: Range<usize>,
        label: impl Into<String>,
    ) -> Self {
        self.primary = Some(Label::new(file, range, label));
        self
    }

    pub(crate) fn also(
        mut self,
        file: FileId,
        range: Range<usize>,
        label: impl Into<String>,
    ) -> Self {
        self.secondary.push(Label::new(file, range, label));
        self
    }

    pub(crate) fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The headline, e.g. ``dependency `0001_crete_users` does not exist``.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The one-line hint telling how to fix the problem, if there is one.
    pub fn hint(&self) -> Option<&str> {
        self.help.as_deref()
    }
}

/// Where a diagnostic points: a file as displayed, with a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file as displayed, relative to the crate (`migrations/0002_x.rs`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

#[derive(Debug, Clone)]
struct SourceFile {
    name: String,
    text: String,
}

/// Every problem found in one pass over `migrations/`, with the sources they point into.
///
/// Problems are collected, never thrown: a build shows all of them at once, sorted by file
/// and position.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("1_bad.rs"), "")?;
/// let report = mongodb_migrate_build::resolve(dir.path()).unwrap_err();
/// assert_eq!(report.len(), 1);
/// assert!(report.render(false).contains("NNNN_snake_case.rs"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Report {
    files: Vec<SourceFile>,
    diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn add_file(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
        });
        self.files.len() - 1
    }

    pub(crate) fn file_text(&self, file: FileId) -> &str {
        &self.files[file].text
    }

    pub(crate) fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub(crate) fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.diagnostics.extend(diagnostics);
    }

    pub(crate) fn retain(&mut self, keep: impl FnMut(&Diagnostic) -> bool) {
        self.diagnostics.retain(keep);
    }

    /// Sorts by file, then position; diagnostics without a location come last.
    pub(crate) fn sort(&mut self) {
        let files = &self.files;
        self.diagnostics.sort_by(|a, b| {
            let key = |d: &Diagnostic| match &d.primary {
                Some(l) => (0, files[l.file].name.clone(), l.range.start),
                None => (1, String::new(), 0),
            };
            key(a).cmp(&key(b))
        });
    }

    /// `true` when nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// The number of problems.
    pub fn len(&self) -> usize {
        self.diagnostics.len()
    }

    /// The problems, sorted by file and position.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.diagnostics.iter()
    }

    /// Where `diagnostic` points, if it has a location.
    pub fn location(&self, diagnostic: &Diagnostic) -> Option<Location> {
        let label = diagnostic.primary.as_ref()?;
        let file = self.files.get(label.file)?;
        let before = file.text.get(..label.range.start)?;
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Some(Location {
            file: file.name.clone(),
            line,
            column,
        })
    }

    /// `file:line:col: message (help: hint)` on one line, for `cargo::error=`.
    pub fn one_line(&self, diagnostic: &Diagnostic) -> String {
        let mut line = match self.location(diagnostic) {
            Some(at) => format!(
                "{}:{}:{}: {}",
                at.file, at.line, at.column, diagnostic.message
            ),
            None => diagnostic.message.clone(),
        };
        if let Some(help) = &diagnostic.help {
            line.push_str(&format!(" (help: {help})"));
        }
        line.replace(['\n', '\r'], " ")
    }

    /// Renders every diagnostic like rustc does (`error: …`, `--> file:line:col`, the line
    /// with the offending text underlined, `= help: …`), then a summary line.
    ///
    /// With `color`, the text carries ANSI colour escapes.
    pub fn render(&self, color: bool) -> String {
        let mut files = SimpleFiles::new();
        for file in &self.files {
            files.add(file.name.as_str(), file.text.as_str());
        }
        let config = Config {
            chars: Chars::ascii(),
            ..Config::default()
        };
        let mut out = Vec::new();
        for diagnostic in &self.diagnostics {
            let rendered = to_codespan(diagnostic);
            let result = if color {
                term::emit_to_write_style(&mut Ansi::new(&mut out), &config, &files, &rendered)
            } else {
                term::emit_to_io_write(&mut out, &config, &files, &rendered)
            };
            if let Err(error) = result {
                // A label outside its file is our bug; still show the message rather than nothing.
                out.extend_from_slice(
                    format!(
                        "error: {} (could not render location: {error})\n\n",
                        diagnostic.message
                    )
                    .as_bytes(),
                );
            }
        }
        let mut text = String::from_utf8_lossy(&out).into_owned();
        let summary = match self.diagnostics.len() {
            0 => return text,
            1 => "error: the migration plan has 1 problem".to_owned(),
            n => format!("error: the migration plan has {n} problems"),
        };
        if color {
            text.push_str(&format!(
                "\x1b[1;31merror\x1b[0m\x1b[1m{}\x1b[0m\n",
                &summary[5..]
            ));
        } else {
            text.push_str(&summary);
            text.push('\n');
        }
        text
    }
}

fn to_codespan(diagnostic: &Diagnostic) -> CsDiagnostic<FileId> {
    let mut labels = Vec::new();
    if let Some(primary) = &diagnostic.primary {
        labels.push(
            CsLabel::primary(primary.file, primary.range.clone()).with_message(&primary.message),
        );
    }
    for label in &diagnostic.secondary {
        labels
            .push(CsLabel::secondary(label.file, label.range.clone()).with_message(&label.message));
    }
    let mut notes: Vec<String> = diagnostic
        .notes
        .iter()
        .map(|n| format!("note: {n}"))
        .collect();
    if let Some(help) = &diagnostic.help {
        notes.push(format!("help: {help}"));
    }
    CsDiagnostic::error()
        .with_message(&diagnostic.message)
        .with_labels(labels)
        .with_notes(notes)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Report {}

impl<'a> IntoIterator for &'a Report {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
