//! The analyzer's entry point: walk `upgrade` and `downgrade`, then judge what they do.

use std::collections::HashSet;

use super::collections::Collections;
use super::context::Context;
use super::created::Created;
use super::irreversible::undeclared_irreversible;
use super::judge::judge;
use super::model::{Handle, Role};
use super::operations::Operations;
use super::walk::{Walked, Walker};
use crate::finding::Finding;

/// What the analyzers found in one migration file.
#[derive(Debug, Default)]
pub(crate) struct Analysis {
    /// The destructive operations, before the file's `ALLOW` and `IRREVERSIBLE` answer them.
    pub(crate) findings: Vec<Finding>,
    /// The collections `upgrade` and `downgrade` name, as far as the syntax shows, in name
    /// order (see [`Collections`]).
    pub(crate) collections: Vec<String>,
}

/// Analyzes a parsed migration file. `transactional` says what the entry points' parameter is
/// (the transaction, whose `.db` is the database, or the database) when its type does not
/// show it.
pub(crate) fn analyze(file: &syn::File, transactional: bool) -> Analysis {
    let cx = Context::new(file);
    let entry = if transactional {
        Handle::Transaction
    } else {
        Handle::Database
    };
    let walk = |function: Option<&syn::ItemFn>, track_parameter| {
        function.map_or_else(Walked::default, |f| {
            let rules = (Operations::default(), Collections::default());
            Walker::run(&cx, f, &entry, track_parameter, rules)
        })
    };
    let (up, mut collections) = {
        let (operations, collections) = walk(cx.upgrade, false).rule;
        (operations.calls, collections.names)
    };
    let down = walk(cx.downgrade, true);
    let down_uses_parameter = down.uses_parameter;
    let (down, down_collections) = (down.rule.0.calls, down.rule.1.names);
    collections.extend(down_collections);
    let created = Created::new(&cx, &up);

    let mut findings = Vec::new();
    for call in &up {
        findings.extend(judge(&cx, call, Role::Upgrade, &created));
    }
    // Without `upgrade` (reported as missing), what the downgrade undoes is unknown: judging it
    // would only repeat that problem.
    if cx.upgrade.is_some() {
        for call in &down {
            findings.extend(judge(&cx, call, Role::Downgrade, &created));
        }
    }
    // A function both bodies call is walked twice; its operations are reported once.
    let mut seen = HashSet::new();
    findings.retain(|f: &Finding| seen.insert((f.kind, f.range.start)));
    if let Some(finding) = cx
        .downgrade
        .and_then(|f| undeclared_irreversible(&up, f, down_uses_parameter))
    {
        findings.push(finding);
    }
    Analysis {
        findings,
        collections: collections.into_iter().collect(),
    }
}

/// How many findings a parsed migration file has, before `ALLOW`: the benchmark's measure of
/// the lint alone.
#[doc(hidden)]
pub fn count_findings(file: &syn::File) -> usize {
    analyze(file, false).findings.len()
}
