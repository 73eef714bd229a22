//! `migrate graph`: the dependency graph in DOT, coloured by state when a database is given.

use std::fmt::Write as _;

use super::{CliError, Ctx};
use crate::sanitize::dot_id;
use crate::{exit_code, State, Status};

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let status = match ctx.global.uri {
        Some(_) => Some(ctx.migrator().await?.status().await?),
        None => None,
    };
    super::emit(&dot(ctx.app.migrations, status.as_ref()))?;
    Ok(exit_code::SUCCESS)
}

fn dot(migrations: &[crate::Migration], status: Option<&Status>) -> String {
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
