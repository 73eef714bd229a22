//! `migrate graph`: the dependency graph in DOT or Mermaid, coloured by state when a database
//! is given. Mermaid renders in GitHub and GitLab pull requests, so a reviewer sees where a new
//! migration sits in the graph.

use std::fmt::Write as _;

use super::args::{GraphArgs, GraphFormat};
use super::{CliError, Ctx};
use crate::exit_code;
use mongodb_migrate_core::sanitize::{dot_id, mermaid_id, mermaid_label};
use mongodb_migrate_core::{State, Status};

pub(crate) async fn run(args: &GraphArgs, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let status = match ctx.global.uri {
        Some(_) => Some(ctx.migrator().await?.status().await?),
        None => None,
    };
    let text = match args.format {
        GraphFormat::Dot => dot(ctx.app.migrations, status.as_ref()),
        GraphFormat::Mermaid => mermaid(ctx.app.migrations, status.as_ref()),
    };
    super::emit(&text)?;
    Ok(exit_code::SUCCESS)
}

/// A Mermaid flowchart, styled as the DOT output: applied green, failed salmon, running
/// yellow, pending plain, unknown (from the database) dashed. Every id and label is escaped.
fn mermaid(migrations: &[mongodb_migrate_core::Migration], status: Option<&Status>) -> String {
    let mut out = String::from("flowchart BT\n");
    for m in migrations {
        let _ = writeln!(out, "    {}[{}]", mermaid_id(m.name), mermaid_label(m.name));
    }
    for m in migrations {
        for d in m.dependencies {
            let _ = writeln!(out, "    {} --> {}", mermaid_id(m.name), mermaid_id(d));
        }
    }
    let Some(s) = status else {
        return out;
    };
    for u in &s.unknown {
        let _ = writeln!(
            out,
            "    {}[{}]",
            mermaid_id(&u.name),
            mermaid_label(&u.name)
        );
    }
    out.push_str("    classDef applied fill:#98fb98,stroke:#2e7d32;\n");
    out.push_str("    classDef failed fill:#fa8072,stroke:#b71c1c;\n");
    out.push_str("    classDef running fill:#ffffe0,stroke:#f9a825;\n");
    out.push_str("    classDef unknown stroke-dasharray: 5 5;\n");
    for (i, m) in migrations.iter().enumerate() {
        let class = match s.migrations[i].state {
            State::Applied => "applied",
            State::Failed => "failed",
            State::Running => "running",
            State::Pending => continue,
        };
        let _ = writeln!(out, "    class {} {class};", mermaid_id(m.name));
    }
    for u in &s.unknown {
        let _ = writeln!(out, "    class {} unknown;", mermaid_id(&u.name));
    }
    out
}

fn dot(migrations: &[mongodb_migrate_core::Migration], status: Option<&Status>) -> String {
    let mut out = String::from("digraph migrations {\n    rankdir=BT;\n    node [shape=box];\n");
    for (i, m) in migrations.iter().enumerate() {
        let attrs = match status.map(|s| s.migrations[i].state) {
            None => String::new(),
            Some(State::Applied) => {
                " [style=filled, fillcolor=palegreen, tooltip=\"applied\"]".to_owned()
            }
            Some(State::Pending) => " [tooltip=\"pending\"]".to_owned(),
            Some(State::Failed) => {
                " [style=filled, fillcolor=salmon, tooltip=\"failed\"]".to_owned()
            }
            Some(State::Running) => {
                " [style=filled, fillcolor=lightyellow, tooltip=\"running\"]".to_owned()
            }
        };
        let _ = writeln!(out, "    {}{attrs};", dot_id(m.name));
    }
    for m in migrations {
        for d in m.dependencies {
            let _ = writeln!(out, "    {} -> {};", dot_id(m.name), dot_id(d));
        }
    }
    if let Some(s) = status {
        // Names from the database: quoted and escaped, never trusted as DOT.
        for u in &s.unknown {
            let _ = writeln!(
                out,
                "    {} [style=dashed, tooltip=\"unknown: not in this binary\"];",
                dot_id(&u.name)
            );
        }
    }
    out.push_str("}\n");
    out
}
