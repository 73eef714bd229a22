//! Progress of `up` and `down`: a line per migration start and end; on a terminal a spinner
//! with the elapsed time while it runs.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Style;
use mongodb_migrate_core::sanitize::for_terminal;
use mongodb_migrate_core::{Direction, Event, Observer};

/// Prints [`Event`]s.
#[derive(Debug)]
pub(crate) struct Progress {
    style: Style,
    terminal: bool,
    spinner: Mutex<Option<ProgressBar>>,
    /// What the spinner says about the running migration, and the last tenth of its progress
    /// printed (plain output prints a line per tenth, not per report).
    current: Mutex<(String, Option<u64>)>,
    /// The running migration's first progress report (when, how much was done): the rate, and
    /// so the ETA, count only what this run did (a resumed backfill starts past zero).
    first_report: Mutex<Option<(Instant, u64)>>,
}

impl Progress {
    pub fn new(style: Style, terminal: bool) -> Self {
        Progress {
            style,
            terminal,
            spinner: Mutex::new(None),
            current: Mutex::new((String::new(), None)),
            first_report: Mutex::new(None),
        }
    }

    /// The time left at the rate of this run so far, once there is a rate to judge by.
    fn eta(&self, done: u64, total: Option<u64>) -> Option<String> {
        let mut first = self.first_report.lock().ok()?;
        let (since, from) = *first.get_or_insert((Instant::now(), done));
        let total = total?;
        let progressed = done.checked_sub(from).filter(|p| *p > 0)?;
        let left = total.saturating_sub(done);
        let secs = since.elapsed().as_secs_f64() * left as f64 / progressed as f64;
        // Whole seconds: "1m 12s", not nanoseconds.
        Some(humantime::format_duration(Duration::from_secs(secs.round() as u64)).to_string())
    }

    fn clear_spinner(&self) {
        if let Ok(mut s) = self.spinner.lock() {
            if let Some(bar) = s.take() {
                bar.finish_and_clear();
            }
        }
    }
}

/// Durations of migrations, always in milliseconds (`420 ms`, `61234 ms`): the documented
/// output, which scripts parse. humantime would print `1m 1s 234ms`, so it is not used here.
pub(crate) fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

impl Observer for Progress {
    fn on_event(&self, event: &Event<'_>) {
        let st = self.style;
        match *event {
            Event::LockWait { holder, timeout } => {
                let who = holder.map_or_else(
                    || "another runner".to_owned(),
                    |h| for_terminal(&h.to_string()).into_owned(),
                );
                outln!(
                    "Waiting up to {} for the migration lock held by {who}…",
                    humanize(timeout)
                );
            }
            Event::LockAcquired => {}
            Event::Destructive { name, allowed } => {
                for a in allowed {
                    outln!(
                        "{} {name} will run an allowed destructive operation: {} (line {}): {}",
                        st.warn("!"),
                        a.finding,
                        a.line,
                        a.reason
                    );
                }
            }
            Event::Ahead { names } => {
                let names: Vec<_> = names.iter().map(|n| for_terminal(n)).collect();
                outln!(
                    "{} the database is ahead of this binary: {} newer {} ({}) applied by a newer version; left as {}",
                    st.warn("note:"),
                    names.len(),
                    if names.len() == 1 { "migration" } else { "migrations" },
                    names.join(", "),
                    if names.len() == 1 { "it is" } else { "they are" }
                );
            }
            Event::Deduplicated { name, removed } => {
                let docs = if removed == 1 {
                    "document"
                } else {
                    "documents"
                };
                outln!(
                    "{} {name} had {} state documents (pymongo-migrate keeps no unique index); removed {removed} surplus {docs}, kept the applied one",
                    st.warn("!"),
                    removed + 1
                );
            }
            Event::Interrupted { name, failure } => {
                outln!(
                    "{} {name} was interrupted and is now recorded as failed: {}",
                    st.error("!"),
                    for_terminal(&failure.error)
                );
            }
            Event::Start {
                name,
                direction,
                index,
                total,
                fake,
            } => {
                let verb = match (direction, fake) {
                    (Direction::Up, false) => "applying",
                    (Direction::Down, false) => "reverting",
                    (Direction::Up, true) => "faking apply of",
                    (Direction::Down, true) => "faking revert of",
                };
                if let Ok(mut c) = self.current.lock() {
                    *c = (format!("{verb} {name}"), None);
                }
                if let Ok(mut f) = self.first_report.lock() {
                    *f = None;
                }
                if self.terminal {
                    let mut bar = ProgressBar::with_draw_target(
                        Some(total as u64),
                        ProgressDrawTarget::stdout(),
                    )
                    .with_position(index as u64)
                    .with_message(format!("{verb} {name}"));
                    if let Ok(s) =
                        ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} {elapsed}")
                    {
                        bar = bar.with_style(s);
                    }
                    bar.enable_steady_tick(Duration::from_millis(100));
                    if let Ok(mut s) = self.spinner.lock() {
                        *s = Some(bar);
                    }
                } else {
                    outln!("[{index}/{total}] {verb} {name} …");
                }
            }
            Event::Progress { name, done, total } => {
                let Ok(mut current) = self.current.lock() else {
                    return;
                };
                let eta = self.eta(done, total);
                if self.terminal {
                    if let Ok(s) = self.spinner.lock() {
                        if let Some(bar) = s.as_ref() {
                            match total.filter(|t| *t > 0) {
                                // A total: a bar with indicatif's own ETA.
                                Some(t) => {
                                    if bar.length() != Some(t) {
                                        if let Ok(style) = ProgressStyle::with_template(
                                            "{spinner} {msg} [{wide_bar}] {pos}/{len} ({percent}%) ETA {eta}",
                                        ) {
                                            bar.set_style(style.progress_chars("=> "));
                                        }
                                        bar.set_length(t);
                                        bar.set_position(done);
                                        bar.reset_eta();
                                    }
                                    bar.set_position(done);
                                    bar.set_message(current.0.clone());
                                }
                                None => bar.set_message(format!("{} ({done} done)", current.0)),
                            }
                        }
                    }
                } else if let Some(t) = total.filter(|t| *t > 0) {
                    let tenth = done * 10 / t;
                    if current.1 != Some(tenth) {
                        current.1 = Some(tenth);
                        let eta = eta.map(|e| format!(", ETA {e}")).unwrap_or_default();
                        outln!("    {name}: {done}/{t}, {}%{eta}", done * 100 / t);
                    }
                }
            }
            Event::Note { name, message } => {
                let message = mongodb_migrate_core::sanitize::for_terminal(message);
                // Helpers write whole sentences that may already name the migration.
                let line = if message.starts_with(name) {
                    format!("  {} {message}", st.warn("note:"))
                } else {
                    format!("  {} {name}: {message}", st.warn("note:"))
                };
                if self.terminal {
                    if let Ok(s) = self.spinner.lock() {
                        if let Some(bar) = s.as_ref() {
                            bar.println(line);
                            return;
                        }
                    }
                }
                outln!("{line}");
            }
            Event::Finish {
                name,
                direction,
                elapsed,
                fake,
            } => {
                self.clear_spinner();
                let what = match (direction, fake) {
                    (Direction::Up, false) => "applied",
                    (Direction::Down, false) => "reverted",
                    (Direction::Up, true) => "recorded as applied (fake)",
                    (Direction::Down, true) => "recorded as not applied (fake)",
                };
                outln!("{} {name}  {what} in {}", st.ok("✓"), ms(elapsed));
            }
            Event::Failed {
                name,
                direction,
                elapsed,
                error,
            } => {
                self.clear_spinner();
                outln!(
                    "{} {name}  {direction} failed after {}: {error}",
                    st.error("✗"),
                    ms(elapsed),
                    error = for_terminal(error)
                );
            }
            // Events newer than this crate are not shown.
            _ => {}
        }
    }
}

/// The lock timeout as given on the command line (`Waiting up to 60s`, `500ms`): humantime's
/// `format_duration` would print `1m` for 60s, changing documented output.
fn humanize(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}
