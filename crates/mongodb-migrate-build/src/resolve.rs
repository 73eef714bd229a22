//! The resolver: `migrations/` on disk to a checked [`Plan`] or a [`Report`] of every problem.
//!
//! The build script and the tests call the same [`resolve`], so the registry compiled into a
//! binary is, by construction, the plan read from disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::checksum::normalize_newlines;
use crate::diagnostic::{Diagnostic, FileId, Report};
use crate::discover::{discover, Discovered, HelperModule};
use crate::file_name::{parse_stem, FILE_NAME_PATTERN};
use crate::file_pass::{check_file, Checked};
use crate::framework::Framework;
use crate::graph::Graph;
use crate::parse::Located;
use crate::plan::{Plan, PlannedMigration};

/// A well-named migration file, parsed.
#[derive(Debug)]
pub(crate) struct Candidate {
    pub(crate) file: FileId,
    pub(crate) stem: String,
    pub(crate) sequence: u64,
    pub(crate) path: PathBuf,
    pub(crate) checked: Checked,
    /// Whether the file is in the app's archive crate (`archive/migrations/`).
    pub(crate) archived: bool,
}

/// Everything read from the directory, before the cross-file checks.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) report: Report,
    pub(crate) helpers: Vec<HelperModule>,
    /// In file name order.
    pub(crate) candidates: Vec<Candidate>,
}

/// Files below this count are parsed on the calling thread: spawning costs more than it saves.
const PARALLEL_THRESHOLD: usize = 64;

/// Reads and checks the migrations in `dir`.
///
/// Returns the [`Plan`] in topological order if every check passes, or a [`Report`] with every
/// problem found. Paths in the report are shown as `<last component of dir>/<file>` for an
/// absolute `dir`, and as given for a relative one.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir()?;
/// std::fs::write(
///     dir.path().join("0001_create_users.rs"),
///     r#"//! Create the users collection.
/// pub const NAME: &str = "0001_create_users";
/// pub const DEPENDENCIES: &[&str] = &[];
/// pub async fn upgrade(db: &Database) -> Result<()> { Ok(()) }
/// pub async fn downgrade(db: &Database) -> Result<()> { Ok(()) }
/// "#,
/// )?;
/// let plan = mongodb_migrate_build::resolve(dir.path()).expect("a valid plan");
/// assert_eq!(plan.migrations[0].name, "0001_create_users");
/// assert_eq!(plan.migrations[0].description, "Create the users collection.");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn resolve(dir: impl AsRef<Path>) -> Result<Plan, Report> {
    let dir = dir.as_ref();
    check(load(dir, &display_prefix(dir), &Framework::default()))
}

/// How files in `dir` are named in diagnostics.
pub(crate) fn display_prefix(dir: &Path) -> String {
    let shown = if dir.is_absolute() {
        dir.file_name()
            .map_or_else(|| dir.to_path_buf(), PathBuf::from)
    } else {
        dir.to_path_buf()
    };
    shown
        .to_string_lossy()
        .replace('\\', "/")
        .trim_end_matches('/')
        .to_owned()
}

/// Discovers and parses every file, collecting the per-file problems.
pub(crate) fn load(dir: &Path, display: &str, framework: &Framework) -> Loaded {
    let mut loaded = Loaded {
        report: Report::new(),
        helpers: Vec::new(),
        candidates: Vec::new(),
    };
    loaded.helpers = load_into(&mut loaded, dir, display, framework, false);
    loaded
}

/// Adds the migrations of the app's archive crate (`dir`, shown as `display`) to `loaded`:
/// one plan, checked as a whole, whose archived part comes first (see [`check`]).
pub(crate) fn load_archive(loaded: &mut Loaded, dir: &Path, display: &str, framework: &Framework) {
    // The archive's helper modules are its own crate's business: the app includes its own.
    let _ = load_into(loaded, dir, display, framework, true);
}

/// Discovers and parses the files of `dir` into `loaded`; returns the helper modules found.
fn load_into(
    loaded: &mut Loaded,
    dir: &Path,
    display: &str,
    framework: &Framework,
    archived: bool,
) -> Vec<HelperModule> {
    let report = &mut loaded.report;
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let Discovered {
        files: found,
        helpers,
        unreadable,
    } = match discover(&absolute) {
        Ok(found) => found,
        Err(unreadable) => {
            report.push(
                Diagnostic::error(format!(
                    "cannot read the migrations directory `{display}`: {}",
                    unreadable.error
                ))
                .note(format!("looked for {}", unreadable.path.display()))
                .help("create it (an empty directory is an empty plan), or point `migrations_dir` at it"),
            );
            return Vec::new();
        }
    };
    for problem in unreadable {
        report.push(
            Diagnostic::error(format!(
                "cannot read `{display}/{}`: {}",
                problem.path.file_name().map_or_else(
                    || problem.path.display().to_string(),
                    |name| name.to_string_lossy().into_owned()
                ),
                problem.error
            ))
            .help("migration files must be readable UTF-8 text"),
        );
    }

    let mut pending = Vec::new();
    let mut misnamed = Vec::new();
    for file in found {
        let text = normalize_newlines(&file.text).into_owned();
        let id = report.add_file(format!("{display}/{}", file.file_name), text);
        let stem = file.file_name.trim_end_matches(".rs");
        match parse_stem(stem) {
            Some((sequence, _)) => pending.push((id, stem.to_owned(), sequence, file.path)),
            None => misnamed.push((id, file.file_name)),
        }
    }
    // Suggest a free number: the file's own digits if it has some, else the next one.
    let mut taken: std::collections::HashSet<u64> = pending.iter().map(|p| p.2).collect();
    let mut next = taken.iter().max().map_or(1, |max| max + 1);
    for (id, file_name) in misnamed {
        let stem = file_name.trim_end_matches(".rs");
        let digits: String = stem.chars().take_while(char::is_ascii_digit).collect();
        let number = match digits.parse::<u64>() {
            Ok(number) if !taken.contains(&number) => number,
            _ => {
                while taken.contains(&next) {
                    next += 1;
                }
                next
            }
        };
        taken.insert(number);
        report.push(
            Diagnostic::error(format!(
                "`{file_name}` is not a migration file name: expected `{FILE_NAME_PATTERN}`"
            ))
            .at(id, 0..0, "in this file")
            .note(format!(
                "`{FILE_NAME_PATTERN}` is four or more digits, `_`, then a lowercase snake_case name"
            ))
            .help(format!(
                "rename it (e.g. `{number:04}_{}.rs`); helper modules go in a subdirectory such as `{display}/common/`",
                suggested_name(stem)
            )),
        );
    }

    let checked = check_all(report, &pending, framework);
    for ((file, stem, sequence, path), checked) in pending.into_iter().zip(checked) {
        report.extend(checked.parsed.diagnostics.iter().cloned());
        loaded.candidates.push(Candidate {
            file,
            stem,
            sequence,
            path,
            checked,
            archived,
        });
    }
    helpers
}

fn suggested_name(stem: &str) -> String {
    let mut out = String::new();
    for word in stem
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .skip_while(|w| w.chars().all(|c| c.is_ascii_digit()))
    {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&heck::ToSnakeCase::to_snake_case(word));
    }
    if out.is_empty() || !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        format!(
            "name{}",
            if out.is_empty() {
                String::new()
            } else {
                format!("_{out}")
            }
        )
    } else {
        out
    }
}

fn check_all(
    report: &Report,
    pending: &[(FileId, String, u64, PathBuf)],
    framework: &Framework,
) -> Vec<Checked> {
    let parse_one = |(id, stem, _, _): &(FileId, String, u64, PathBuf)| {
        check_file(*id, stem, report.file_text(*id), framework)
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if pending.len() < PARALLEL_THRESHOLD || threads < 2 {
        return pending.iter().map(parse_one).collect();
    }
    let chunk = pending.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = pending
            .chunks(chunk)
            .map(|files| scope.spawn(move || files.iter().map(parse_one).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| match handle.join() {
                Ok(parsed) => parsed,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// The cross-file checks: sequence numbers, dependencies, cycles, heads.
pub(crate) fn check(loaded: Loaded) -> Result<Plan, Report> {
    let Loaded {
        mut report,
        helpers,
        candidates,
    } = loaded;
    check_sequences(&candidates, &mut report);

    let index: HashMap<&str, usize> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (c.stem.as_str(), i))
        .collect();
    let mut graph = Graph::new(
        candidates
            .iter()
            .map(|c| (c.sequence, c.stem.clone()))
            .collect(),
    );
    let mut graph_complete = true;
    for (i, candidate) in candidates.iter().enumerate() {
        if !candidate.checked.parsed.syntax_ok || !candidate.checked.parsed.dependencies_complete {
            graph_complete = false;
        }
        for dependency in &candidate.checked.parsed.dependencies {
            match index.get(dependency.value.as_str()) {
                Some(&target) => {
                    graph.add_dependency(i, target);
                    check_order(candidate, dependency, &candidates[target], &mut report);
                    if candidate.archived && !candidates[target].archived {
                        report.push(archived_on_live(candidate, dependency, &candidates[target]));
                    }
                }
                None => {
                    graph_complete = false;
                    report.push(unknown_dependency(candidate, dependency, &candidates));
                }
            }
        }
    }

    let cycles = graph.cycles();
    for cycle in &cycles {
        report.push(cycle_diagnostic(cycle, &candidates));
    }
    if cycles.is_empty() && graph_complete {
        let heads = graph.heads();
        if heads.len() > 1 {
            report.push(heads_diagnostic(&heads, &candidates));
        }
    }

    if !report.is_empty() {
        report.sort();
        return Err(report);
    }
    let Some(order) = graph.topological_order() else {
        // Unreachable: a cycle is reported above. Keep the build failing loudly if it is not.
        report.push(Diagnostic::error(
            "internal error: the migration graph has a cycle that was not reported",
        ));
        return Err(report);
    };
    // The archive crate's registry lists its migrations in their own order, and the app's
    // lists them first: archived ones depend on nothing else, so this is still an order the
    // graph allows, and within each part it is the order of that part alone (ties by number).
    let (mut order, live): (Vec<usize>, Vec<usize>) =
        order.into_iter().partition(|&i| candidates[i].archived);
    order.extend(live);
    let mut slots: Vec<Option<Candidate>> = candidates.into_iter().map(Some).collect();
    let migrations = order
        .into_iter()
        .filter_map(|i| slots[i].take())
        .map(|c| PlannedMigration {
            name: c.stem,
            sequence: c.sequence,
            dependencies: c
                .checked
                .parsed
                .dependencies
                .into_iter()
                .map(|d| d.value)
                .collect(),
            description: c.checked.parsed.description,
            checksum: c.checked.parsed.checksum,
            transactional: c.checked.parsed.transactional == Some(true),
            declares_transactional: c.checked.parsed.transactional.is_some(),
            allowed: c.checked.allowed,
            declares_allow: c.checked.declares_allow,
            irreversible: c.checked.irreversible,
            collections: c.checked.collections,
            path: c.path,
            archived: c.archived,
        })
        .collect();
    Ok(Plan {
        migrations,
        helpers,
        archive: None,
        helpers_shared: false,
    })
}

/// Where to point at a migration as a whole: its `NAME` literal, or else its first byte.
fn anchor(candidate: &Candidate) -> std::ops::Range<usize> {
    candidate
        .checked
        .parsed
        .name
        .as_ref()
        .map_or(0..0, |n| n.range.clone())
}

fn check_sequences(candidates: &[Candidate], report: &mut Report) {
    let mut by_sequence: HashMap<u64, Vec<&Candidate>> = HashMap::new();
    for candidate in candidates {
        by_sequence
            .entry(candidate.sequence)
            .or_default()
            .push(candidate);
    }
    let mut clashes: Vec<_> = by_sequence.into_values().filter(|c| c.len() > 1).collect();
    clashes.sort_by_key(|c| c[0].sequence);
    for clash in clashes {
        let names: Vec<String> = clash.iter().map(|c| format!("`{}`", c.stem)).collect();
        let (first, others) = (clash[0], &clash[1..]);
        let mut diagnostic = Diagnostic::error(format!(
            "sequence number {} is used by {} migrations: {}",
            first.sequence,
            clash.len(),
            names.join(", ")
        ))
        .at(
            others[0].file,
            anchor(others[0]),
            format!("`{}` reuses number {}", others[0].stem, first.sequence),
        )
        .also(
            first.file,
            anchor(first),
            format!("`{}` has it already", first.stem),
        );
        for other in &others[1..] {
            diagnostic = diagnostic.also(
                other.file,
                anchor(other),
                format!("`{}` has it too", other.stem),
            );
        }
        report.push(
            diagnostic.help(
                "give each migration its own number: renumber the later files and their `NAME`",
            ),
        );
    }
}

fn check_order(
    candidate: &Candidate,
    dependency: &Located,
    target: &Candidate,
    report: &mut Report,
) {
    // Equal numbers are reported once, as a duplicate sequence number.
    if target.sequence <= candidate.sequence {
        return;
    }
    report.push(
        Diagnostic::error(format!(
            "`{}` depends on `{}`, which does not come before it",
            candidate.stem, target.stem
        ))
        .at(
            candidate.file,
            dependency.range.clone(),
            format!("number {} is not smaller than {}", target.sequence, candidate.sequence),
        )
        .help("a migration may depend only on migrations with smaller numbers; renumber one of them or drop the dependency"),
    );
}

fn archived_on_live(candidate: &Candidate, dependency: &Located, target: &Candidate) -> Diagnostic {
    Diagnostic::error(format!(
        "archived `{}` depends on `{}`, which is not archived",
        candidate.stem, target.stem
    ))
    .at(
        candidate.file,
        dependency.range.clone(),
        "a migration of the archive crate cannot reach the app's",
    )
    .note("the archive is compiled before the app, and runs first: everything it depends on must be in it")
    .help(format!(
        "move `{}` into the archive too: `cargo mongodb-migrate archive --through {}`",
        target.stem, candidate.stem
    ))
}

fn unknown_dependency(
    candidate: &Candidate,
    dependency: &Located,
    candidates: &[Candidate],
) -> Diagnostic {
    let closest = candidates
        .iter()
        .filter(|c| c.stem != candidate.stem)
        .map(|c| {
            (
                strsim::damerau_levenshtein(&dependency.value, &c.stem),
                &c.stem,
            )
        })
        .min();
    let diagnostic = Diagnostic::error(format!("dependency `{}` does not exist", dependency.value))
        .at(
            candidate.file,
            dependency.range.clone(),
            "no migration has this name",
        );
    match closest {
        Some((distance, name)) if distance <= (dependency.value.len() / 3).max(3) => {
            diagnostic.help(format!("did you mean `{name}`?"))
        }
        _ => diagnostic
            .help("name an existing migration (its file stem), or add the missing migration"),
    }
}

fn cycle_diagnostic(cycle: &[usize], candidates: &[Candidate]) -> Diagnostic {
    let names: Vec<&str> = cycle.iter().map(|&i| candidates[i].stem.as_str()).collect();
    let mut shown = names.join(" → ");
    shown.push_str(" → ");
    shown.push_str(names[0]);
    let edge = |k: usize| {
        let from = &candidates[cycle[k]];
        let to = &candidates[cycle[(k + 1) % cycle.len()]];
        let range = from
            .checked
            .parsed
            .dependencies
            .iter()
            .find(|d| d.value == to.stem)
            .map_or(0..0, |d| d.range.clone());
        (
            from.file,
            range,
            format!("`{}` depends on `{}`", from.stem, to.stem),
        )
    };
    let (file, range, label) = edge(0);
    let mut diagnostic =
        Diagnostic::error(format!("dependency cycle: {shown}")).at(file, range, label);
    for k in 1..cycle.len() {
        let (file, range, label) = edge(k);
        diagnostic = diagnostic.also(file, range, label);
    }
    diagnostic
        .note("`a → b` means `a` depends on `b`; a cycle has no order to run in")
        .help("remove one of these dependencies; a migration should depend only on earlier ones")
}

fn heads_diagnostic(heads: &[usize], candidates: &[Candidate]) -> Diagnostic {
    let names: Vec<String> = heads
        .iter()
        .map(|&i| format!("`{}`", candidates[i].stem))
        .collect();
    let first = &candidates[heads[0]];
    let mut diagnostic = Diagnostic::error(format!(
        "the plan has {} heads: {}",
        heads.len(),
        names.join(", ")
    ))
    .at(
        first.file,
        anchor(first),
        "nothing depends on this migration",
    );
    for &i in &heads[1..] {
        let head = &candidates[i];
        diagnostic = diagnostic.also(
            head.file,
            anchor(head),
            "nothing depends on this migration either",
        );
    }
    let quoted: Vec<String> = heads
        .iter()
        .map(|&i| format!("\"{}\"", candidates[i].stem))
        .collect();
    diagnostic
        .note("branches added migrations independently; with one head, the order between them is decided by you, not by chance")
        .help(format!(
            "add a merge migration with `DEPENDENCIES = &[{}]`: run `cargo mongodb-migrate new --merge`",
            quoted.join(", ")
        ))
}

#[cfg(test)]
mod tests {
    use super::resolve;
    use crate::plan::Plan;
    use crate::Report;

    fn migration(name: &str, dependencies: &[&str]) -> String {
        let deps: Vec<String> = dependencies.iter().map(|d| format!("{d:?}")).collect();
        format!(
            "//! Migration {name}.\nuse mongodb_migrate::prelude::*;\n\npub const NAME: &str = \"{name}\";\npub const DEPENDENCIES: &[&str] = &[{}];\n\npub async fn upgrade(db: &Database) -> Result<()> {{ let _ = db; Ok(()) }}\npub async fn downgrade(db: &Database) -> Result<()> {{ let _ = db; Ok(()) }}\n",
            deps.join(", ")
        )
    }

    fn dir_with(files: &[(&str, String)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        dir
    }

    fn plan(files: &[(&str, String)]) -> Plan {
        let dir = dir_with(files);
        resolve(dir.path()).unwrap_or_else(|report| panic!("{}", report.render(false)))
    }

    /// Every problem as `file:line:col: message | help`.
    fn problems(files: &[(&str, String)]) -> Vec<String> {
        let dir = dir_with(files);
        let report: Report = resolve(dir.path()).expect_err("a broken plan");
        report
            .iter()
            .map(|d| {
                let at = report.location(d).map_or("-".to_owned(), |l| {
                    format!(
                        "{}:{}:{}",
                        l.file.rsplit('/').next().unwrap_or(&l.file),
                        l.line,
                        l.column
                    )
                });
                format!("{at}: {} | {}", d.message(), d.hint().unwrap_or(""))
            })
            .collect()
    }

    fn one_problem(files: &[(&str, String)]) -> String {
        let all = problems(files);
        assert_eq!(all.len(), 1, "{all:#?}");
        all.into_iter().next().unwrap_or_default()
    }

    fn names(plan: &Plan) -> Vec<&str> {
        plan.migrations.iter().map(|m| m.name.as_str()).collect()
    }

    #[test]
    fn diamond_orders_each_once() {
        let plan = plan(&[
            ("0004_d.rs", migration("0004_d", &["0002_b", "0003_c"])),
            ("0001_a.rs", migration("0001_a", &[])),
            ("0003_c.rs", migration("0003_c", &["0001_a"])),
            ("0002_b.rs", migration("0002_b", &["0001_a"])),
        ]);
        assert_eq!(names(&plan), ["0001_a", "0002_b", "0003_c", "0004_d"]);
        assert_eq!(plan.migrations[3].dependencies, ["0002_b", "0003_c"]);
        assert_eq!(plan.head().map(|m| m.name.as_str()), Some("0004_d"));
    }

    #[test]
    fn plan_carries_description_checksum_and_path() {
        let text = migration("0001_a", &[]);
        let plan = plan(&[("0001_a.rs", text.clone())]);
        let m = &plan.migrations[0];
        assert_eq!(m.description, "Migration 0001_a.");
        assert_eq!(m.sequence, 1);
        assert_eq!(Some(m.checksum.clone()), crate::checksum_source(&text));
        assert!(m.path.is_absolute() && m.path.ends_with("0001_a.rs"));
    }

    /// `migration(…)` declaring `TRANSACTIONAL` as `decl` (`"pub const TRANSACTIONAL: bool = true;"`).
    /// A migration declaring `decl`; when it declares `true`, its functions take the
    /// transaction, as the build requires.
    fn with_transactional(name: &str, decl: &str) -> String {
        let text = migration(name, &[]).replace(
            "pub const DEPENDENCIES",
            &format!("{decl}\npub const DEPENDENCIES"),
        );
        if decl.trim_end().ends_with("= true;") {
            text.replace("db: &Database", "tx: &mut Transaction")
                .replace("let _ = db;", "let _ = tx;")
        } else {
            text
        }
    }

    #[test]
    fn the_parameter_matches_the_kind_of_migration() {
        let transactional = with_transactional("0001_a", "pub const TRANSACTIONAL: bool = true;")
            .replace("upgrade(tx: &mut Transaction)", "upgrade(db: &Database)")
            .replace(
                "{ let _ = tx; Ok(()) }\npub async fn downgrade",
                "{ let _ = db; Ok(()) }\npub async fn downgrade",
            );
        let all = problems(&[("0001_a.rs", transactional)]);
        assert_eq!(all.len(), 1, "{all:#?}");
        assert!(
            all[0].starts_with(
                "0001_a.rs:8:26: `upgrade` of a transactional migration must take the transaction"
            ),
            "{}",
            all[0]
        );
        let plain = migration("0001_a", &[])
            .replace("downgrade(db: &Database)", "downgrade(db: &mut Database)");
        let all = problems(&[("0001_a.rs", plain)]);
        assert_eq!(all.len(), 1, "{all:#?}");
        assert!(
            all[0].contains(
                "`downgrade` takes a mutable reference, but the migration is not transactional"
            ),
            "{}",
            all[0]
        );
        // A malformed TRANSACTIONAL is reported once, not again at the parameters.
        let malformed = with_transactional("0001_a", "pub const TRANSACTIONAL: bool = !false;")
            .replace("db: &Database", "tx: &mut Transaction");
        let all = problems(&[("0001_a.rs", malformed)]);
        assert_eq!(all.len(), 1, "{all:#?}");
    }

    #[test]
    fn plan_carries_transactional_and_whether_it_is_declared() {
        let plan = plan(&[
            ("0001_a.rs", migration("0001_a", &[])),
            (
                "0002_b.rs",
                with_transactional("0002_b", "pub const TRANSACTIONAL: bool = true;")
                    .replace("&[]", "&[\"0001_a\"]"),
            ),
            (
                "0003_c.rs",
                with_transactional("0003_c", "pub const TRANSACTIONAL: bool = false;")
                    .replace("&[]", "&[\"0002_b\"]"),
            ),
        ]);
        let flags: Vec<(bool, bool)> = plan
            .migrations
            .iter()
            .map(|m| (m.transactional, m.declares_transactional))
            .collect();
        assert_eq!(flags, [(false, false), (true, true), (false, true)]);
    }

    #[test]
    fn transactional_must_be_a_pub_bool_literal() {
        let cases = [
            (
                "pub const TRANSACTIONAL: u8 = 1;",
                "0001_a.rs:5:26: `TRANSACTIONAL` is not a `bool`",
            ),
            (
                "pub const TRANSACTIONAL: bool = 1 == 1;",
                "0001_a.rs:5:33: `TRANSACTIONAL` is not `true` or `false`",
            ),
            (
                "pub const TRANSACTIONAL: bool = OTHER;",
                "0001_a.rs:5:33: `TRANSACTIONAL` is not `true` or `false`",
            ),
            (
                "const TRANSACTIONAL: bool = true;",
                "0001_a.rs:5:1: `TRANSACTIONAL` is not `pub`",
            ),
            (
                "pub(crate) const TRANSACTIONAL: bool = true;",
                "0001_a.rs:5:1: `TRANSACTIONAL` is not `pub`",
            ),
        ];
        for (decl, expected) in cases {
            let all = problems(&[("0001_a.rs", with_transactional("0001_a", decl))]);
            assert_eq!(all.len(), 1, "{decl}: {all:#?}");
            assert!(
                all[0].starts_with(expected)
                    && all[0].contains("| write `pub const TRANSACTIONAL: bool = true;`"),
                "{decl}: {}",
                all[0]
            );
        }
    }

    #[test]
    fn a_transactional_function_hint_names_the_transaction() {
        let text = with_transactional("0001_a", "pub const TRANSACTIONAL: bool = true;")
            .replace("pub async fn upgrade", "async fn upgrade");
        let all = problems(&[("0001_a.rs", text)]);
        assert_eq!(all.len(), 1, "{all:#?}");
        assert!(
            all[0].ends_with("| write `pub async fn upgrade(tx: &mut Transaction) -> Result<()>`"),
            "{}",
            all[0]
        );
    }

    #[test]
    fn empty_directory_is_an_empty_plan() {
        assert_eq!(plan(&[]), Plan::default());
    }

    #[test]
    fn helpers_and_other_files_are_not_migrations() {
        let plan = plan(&[
            ("0001_a.rs", migration("0001_a", &[])),
            ("common/mod.rs", "pub fn helper() {}".to_owned()),
            ("README.md", "# notes".to_owned()),
        ]);
        assert_eq!(names(&plan), ["0001_a"]);
    }

    #[test]
    fn several_roots_are_allowed() {
        let plan = plan(&[
            ("0001_a.rs", migration("0001_a", &[])),
            ("0002_b.rs", migration("0002_b", &[])),
            ("0003_c.rs", migration("0003_c", &["0001_a", "0002_b"])),
        ]);
        assert_eq!(names(&plan), ["0001_a", "0002_b", "0003_c"]);
    }

    #[test]
    fn missing_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let report = resolve(dir.path().join("nope")).expect_err("no directory");
        assert!(report
            .iter()
            .next()
            .is_some_and(|d| d.message().contains("cannot read the migrations directory")));
    }

    #[test]
    fn check_1_file_name() {
        let p = one_problem(&[("1_short.rs", migration("1_short", &[]))]);
        assert!(p.starts_with("1_short.rs:1:1: `1_short.rs` is not a migration file name: expected `NNNN_snake_case.rs`"), "{p}");
        let all = problems(&[
            ("0001_Bad.rs", String::new()),
            ("mod.rs", String::new()),
            ("0002_ok.rs", migration("0002_ok", &[])),
        ]);
        assert_eq!(all.len(), 2, "{all:#?}");
        assert!(
            all[0].contains("0001_Bad.rs") && all[0].contains("rename it (e.g. `0001_bad.rs`)"),
            "{all:#?}"
        );
        assert!(
            all[1].contains("mod.rs") && all[1].contains("common/"),
            "{all:#?}"
        );
    }

    #[test]
    fn check_2_name_missing_not_literal_mismatch() {
        let p = one_problem(&[(
            "0001_a.rs",
            migration("0001_a", &[]).replace("pub const NAME: &str = \"0001_a\";\n", ""),
        )]);
        assert!(
            p.contains("missing `NAME`") && p.contains("pub const NAME: &str = \"0001_a\";"),
            "{p}"
        );
        let p = one_problem(&[(
            "0001_a.rs",
            migration("0001_a", &[]).replace("\"0001_a\";", "concat!(\"0001\", \"_a\");"),
        )]);
        assert!(
            p.starts_with("0001_a.rs:4:24: `NAME` is not a string literal"),
            "{p}"
        );
        let p = one_problem(&[("0001_a.rs", migration("0001_b", &[]))]);
        assert!(
            p.starts_with("0001_a.rs:4:24: `NAME` does not match the file name"),
            "{p}"
        );
        assert!(
            p.contains("set `NAME` to \"0001_a\", or rename the file to `0001_b.rs`"),
            "{p}"
        );
    }

    #[test]
    fn check_3_dependencies_shape() {
        let a = ("0001_a.rs", migration("0001_a", &[]));
        let p = one_problem(&[
            a.clone(),
            (
                "0002_b.rs",
                migration("0002_b", &[]).replace("pub const DEPENDENCIES: &[&str] = &[];\n", ""),
            ),
        ]);
        assert!(p.contains("missing `DEPENDENCIES`"), "{p}");
        let p = one_problem(&[
            a.clone(),
            (
                "0002_b.rs",
                migration("0002_b", &[]).replace("= &[];", "= OTHER;"),
            ),
        ]);
        assert!(
            p.starts_with("0002_b.rs:5:35: `DEPENDENCIES` is not a slice of string literals"),
            "{p}"
        );
        let p = one_problem(&[
            a.clone(),
            (
                "0002_b.rs",
                migration("0002_b", &["0001_a"]).replace("\"0001_a\"", "\"0001_a\", A"),
            ),
        ]);
        assert!(
            p.starts_with("0002_b.rs:5:47: dependency is not a string literal"),
            "{p}"
        );
    }

    #[test]
    fn check_3_duplicates_and_self() {
        let a = ("0001_a.rs", migration("0001_a", &[]));
        let p = one_problem(&[
            a.clone(),
            ("0002_b.rs", migration("0002_b", &["0001_a", "0001_a"])),
        ]);
        assert!(
            p.starts_with("0002_b.rs:5:47: `0001_a` is listed twice in `DEPENDENCIES`"),
            "{p}"
        );
        let p = one_problem(&[a, ("0002_b.rs", migration("0002_b", &["0001_a", "0002_b"]))]);
        assert!(
            p.starts_with("0002_b.rs:5:47: `0002_b` depends on itself"),
            "{p}"
        );
    }

    #[test]
    fn check_3_unknown_dependency_suggests_closest() {
        let a = ("0001_create_users.rs", migration("0001_create_users", &[]));
        let p = one_problem(&[
            a.clone(),
            ("0002_b.rs", migration("0002_b", &["0001_crate_users"])),
        ]);
        assert!(
            p.starts_with("0002_b.rs:5:37: dependency `0001_crate_users` does not exist"),
            "{p}"
        );
        assert!(p.ends_with("did you mean `0001_create_users`?"), "{p}");
        let p = one_problem(&[
            a,
            (
                "0002_b.rs",
                migration("0002_b", &["something_else_entirely"]),
            ),
        ]);
        assert!(!p.contains("did you mean"), "{p}");
    }

    #[test]
    fn check_4_dependency_must_come_before() {
        let all = problems(&[
            ("0001_a.rs", migration("0001_a", &["0002_b"])),
            ("0002_b.rs", migration("0002_b", &[])),
        ]);
        assert_eq!(all.len(), 1, "{all:#?}");
        assert!(
            all[0].starts_with(
                "0001_a.rs:5:37: `0001_a` depends on `0002_b`, which does not come before it"
            ),
            "{all:#?}"
        );
    }

    #[test]
    fn check_5_cycle_shows_the_whole_cycle() {
        let all = problems(&[
            ("0001_a.rs", migration("0001_a", &["0003_c"])),
            ("0002_b.rs", migration("0002_b", &["0001_a"])),
            ("0003_c.rs", migration("0003_c", &["0002_b"])),
        ]);
        let cycles: Vec<&String> = all.iter().filter(|p| p.contains("cycle")).collect();
        assert_eq!(cycles.len(), 1, "{all:#?}");
        assert!(
            cycles[0].contains("dependency cycle: 0001_a → 0003_c → 0002_b → 0001_a"),
            "{all:#?}"
        );
        // The cycle needs a backwards edge, which check 4 reports on its own.
        assert!(
            all.iter()
                .any(|p| p.contains("which does not come before it")),
            "{all:#?}"
        );
    }

    #[test]
    fn check_6_duplicate_sequence_number() {
        let all = problems(&[
            ("0001_a.rs", migration("0001_a", &[])),
            ("0002_b.rs", migration("0002_b", &["0001_a"])),
            ("0002_c.rs", migration("0002_c", &["0002_b"])),
        ]);
        let dup: Vec<&String> = all
            .iter()
            .filter(|p| p.contains("sequence number 2 is used by 2 migrations"))
            .collect();
        assert_eq!(dup.len(), 1, "{all:#?}");
        assert!(dup[0].starts_with("0002_c.rs:4:24"), "{all:#?}");
    }

    #[test]
    fn check_7_two_heads_names_every_head() {
        let p = one_problem(&[
            ("0001_a.rs", migration("0001_a", &[])),
            ("0002_b.rs", migration("0002_b", &["0001_a"])),
            ("0003_c.rs", migration("0003_c", &["0001_a"])),
        ]);
        assert!(
            p.starts_with("0002_b.rs:4:24: the plan has 2 heads: `0002_b`, `0003_c`"),
            "{p}"
        );
        assert!(
            p.contains("cargo mongodb-migrate new --merge")
                && p.contains("&[\"0002_b\", \"0003_c\"]"),
            "{p}"
        );
    }

    #[test]
    fn check_7_is_not_a_cascade_of_a_missing_dependency() {
        let all = problems(&[
            ("0001_a.rs", migration("0001_a", &[])),
            ("0002_b.rs", migration("0002_b", &["0001_x"])),
        ]);
        assert_eq!(all.len(), 1, "{all:#?}");
    }

    #[test]
    fn check_8_functions() {
        let ok = migration("0001_a", &[]);
        let p = one_problem(&[(
            "0001_a.rs",
            ok.replace("pub async fn downgrade", "pub async fn other"),
        )]);
        assert!(
            p.starts_with("0001_a.rs:1:1: missing `downgrade` function"),
            "{p}"
        );
        let p = one_problem(&[(
            "0001_a.rs",
            ok.replace("pub async fn upgrade", "pub async fn other"),
        )]);
        assert!(p.contains("missing `upgrade` function"), "{p}");
        let p = one_problem(&[(
            "0001_a.rs",
            ok.replace(
                "pub async fn upgrade(db: &Database)",
                "fn upgrade(db: &Database, x: u8)",
            ),
        )]);
        assert!(
            p.starts_with("0001_a.rs:7:1: `upgrade` must be a `pub async fn` with one parameter"),
            "{p}"
        );
        let dir = dir_with(&[(
            "0001_a.rs",
            ok.replace(
                "pub async fn downgrade(db: &Database)",
                "pub fn downgrade()",
            ),
        )]);
        let report = resolve(dir.path()).expect_err("broken");
        let rendered = report.render(false);
        assert!(
            rendered.contains("this is not `async`, takes 0 parameters, not 1"),
            "{rendered}"
        );
    }

    /// The label under a wrong signature reads as English whichever of its parts are wrong.
    #[test]
    fn check_8_label_reads_as_a_sentence() {
        let ok = migration("0001_a", &[]);
        let label = |from: &str, to: &str| {
            let dir = dir_with(&[("0001_a.rs", ok.replace(from, to))]);
            let rendered = resolve(dir.path()).expect_err("broken").render(false);
            let line = rendered
                .lines()
                .find(|l| l.contains("^^^ this"))
                .unwrap_or_else(|| panic!("no label in:\n{rendered}"));
            line[line.find("this").expect("this")..].to_owned()
        };
        assert_eq!(
            label(
                "pub async fn upgrade(db: &Database)",
                "pub async fn upgrade(db: &Database, x: u8)"
            ),
            "this takes 2 parameters, not 1"
        );
        assert_eq!(
            label(
                "pub async fn upgrade(db: &Database)",
                "async fn upgrade(db: &Database)"
            ),
            "this is not `pub`"
        );
        assert_eq!(
            label(
                "pub async fn upgrade(db: &Database)",
                "pub fn upgrade(db: &Database)"
            ),
            "this is not `async`"
        );
        assert_eq!(
            label("pub async fn upgrade(db: &Database)", "fn upgrade()"),
            "this is not `pub`, not `async`, takes 0 parameters, not 1"
        );
    }

    #[test]
    fn check_9_invalid_rust_is_located() {
        let ok = migration("0001_a", &[]);
        let p = one_problem(&[(
            "0001_a.rs",
            ok.replace(
                "pub const NAME: &str = \"0001_a\";",
                "pub const NAME: &str = \"0001_a\"",
            ),
        )]);
        assert!(
            p.starts_with("0001_a.rs:5:1: this file is not valid Rust: expected `;`"),
            "{p}"
        );
        let p = one_problem(&[(
            "0001_a.rs",
            ok.replace(
                "Ok(()) }\npub async fn downgrade",
                "Ok(( }\npub async fn downgrade",
            ),
        )]);
        assert!(
            p.starts_with("0001_a.rs:7:70: this file is not valid Rust: unbalanced delimiter"),
            "{p}"
        );
    }

    #[test]
    fn problems_are_collected_and_sorted() {
        let all = problems(&[
            ("0002_b.rs", migration("0002_x", &["0001_typo"])),
            (
                "0001_a.rs",
                migration("0001_a", &[]).replace("pub async fn downgrade", "async fn downgrade"),
            ),
            ("bad.rs", String::new()),
        ]);
        assert_eq!(all.len(), 4, "{all:#?}");
        assert!(all[0].starts_with("0001_a.rs:8:1"), "{all:#?}");
        assert!(all[1].starts_with("0002_b.rs:4:24"), "{all:#?}");
        assert!(all[2].starts_with("0002_b.rs:5:37"), "{all:#?}");
        assert!(all[3].starts_with("bad.rs:1:1"), "{all:#?}");
    }

    #[test]
    fn many_files_are_parsed_in_parallel_with_exact_locations() {
        let files: Vec<(String, String)> = (1..=150)
            .map(|i| {
                let name = format!("{i:04}_step");
                let deps = if i == 1 {
                    vec![]
                } else {
                    vec![format!("{:04}_step", i - 1)]
                };
                let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
                let mut text = migration(&name, &deps);
                if i == 120 {
                    text = text.replace("\"0120_step\";", "\"0120_stop\";");
                }
                if i == 30 {
                    text = text.replace("pub async fn downgrade", "\n\nasync fn downgrade");
                }
                (format!("{name}.rs"), text)
            })
            .collect();
        let borrowed: Vec<(&str, String)> =
            files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
        let all = problems(&borrowed);
        assert_eq!(all.len(), 2, "{all:#?}");
        assert!(
            all[0].starts_with("0030_step.rs:10:1: `downgrade` must be"),
            "{all:#?}"
        );
        assert!(
            all[1].starts_with("0120_step.rs:4:24: `NAME` does not match"),
            "{all:#?}"
        );

        let valid: Vec<(&str, String)> = borrowed
            .iter()
            .map(|(n, t)| {
                (
                    *n,
                    t.replace("\"0120_stop\";", "\"0120_step\";")
                        .replace("\n\nasync fn downgrade", "pub async fn downgrade"),
                )
            })
            .collect();
        let plan = plan(&valid);
        assert_eq!(plan.migrations.len(), 150);
        assert!(plan
            .migrations
            .windows(2)
            .all(|w| w[0].sequence < w[1].sequence));
    }

    #[test]
    fn unreadable_files_are_reported_without_a_location() {
        let dir = dir_with(&[("0001_a.rs", migration("0001_a", &[]))]);
        std::fs::write(dir.path().join("0002_b.rs"), [0xff, 0xfe, 0x00]).expect("write");
        let report = resolve(dir.path()).expect_err("unreadable");
        assert_eq!(report.len(), 1, "{report}");
        let diagnostic = report.iter().next().expect("one");
        assert!(diagnostic.message().starts_with("cannot read"), "{report}");
        let shown = format!("`{}/0002_b.rs`", crate::resolve::display_prefix(dir.path()));
        assert!(diagnostic.message().contains(&shown), "{report}");
        assert_eq!(report.location(diagnostic), None);
    }

    #[test]
    fn crlf_files_are_located_like_lf_files() {
        let text = migration("0001_b", &[]).replace('\n', "\r\n");
        let p = one_problem(&[("0001_a.rs", text)]);
        assert!(
            p.starts_with("0001_a.rs:4:24: `NAME` does not match"),
            "{p}"
        );
    }
}
