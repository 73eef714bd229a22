//! The per-file pass: one migration file parsed, then its bodies analyzed, and the findings
//! settled against the file's opt-outs. The parser knows nothing of the analyzers; this pass
//! runs them, on the thread that parsed the file (syn's trees are not `Send`).

use crate::allow::settle;
use crate::analyze::analyze;
use crate::diagnostic::FileId;
use crate::framework::Framework;
use crate::parse::{parse, Items, Parsed};
use crate::plan::AllowedFinding;

/// What one file says about itself and what the analyzers found in it. Plain data, so files can
/// be checked on several threads.
#[derive(Debug)]
pub(crate) struct Checked {
    /// Its items and the problems of its shape; [`Parsed::diagnostics`] holds the analyzers'
    /// unanswered findings too.
    pub(crate) parsed: Parsed,
    /// The lint's findings the file allows in `ALLOW`, with their reasons.
    pub(crate) allowed: Vec<AllowedFinding>,
    /// Whether the file declares `ALLOW` at all: the registry then references the constant.
    pub(crate) declares_allow: bool,
    /// The reason in `pub const IRREVERSIBLE: &str = "…";`.
    pub(crate) irreversible: Option<String>,
    /// The collections its bodies name, as far as the analyzer sees.
    pub(crate) collections: Vec<String>,
}

/// Checks `text` (already newline-normalized) as the migration `stem`, in an app that calls the
/// framework's crate as `framework` says.
pub(crate) fn check_file(file: FileId, stem: &str, text: &str, framework: &Framework) -> Checked {
    let (mut parsed, syntax) = parse(file, stem, text, framework);
    let Some(syntax) = syntax else {
        return Checked {
            parsed,
            allowed: Vec::new(),
            declares_allow: false,
            irreversible: None,
            collections: Vec::new(),
        };
    };
    let items = Items::of(&syntax);
    let analysis = analyze(&syntax, parsed.transactional == Some(true));
    let settled = settle(
        file,
        text,
        items.allow,
        items.irreversible,
        analysis.findings,
        &mut parsed.diagnostics,
    );
    Checked {
        parsed,
        allowed: settled.allowed,
        declares_allow: items.allow.is_some(),
        irreversible: settled.irreversible,
        collections: analysis.collections,
    }
}
