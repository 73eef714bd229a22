//! Progress of `up` and `down`: a line per migration start and end; on a terminal a spinner
//! with the elapsed time while it runs.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Style;
use crate::sanitize::for_terminal;
use crate::{Direction, Event, Observer};

/// Prints [`Event`]s.
#[derive(Debug)]
pub(crate) struct Progress {
    style: Style,
    terminal: bool,
    spinner: Mutex<Option<ProgressBar>>,
    /// What the spinner says about the running migration, and the last tenth of its progress
    /// printed (plain output prints a line per tenth, not per report).
    current: Mutex<(String, Option<u64>)>,
}

impl Progress {
    pub fn new(style: Style, terminal: bool) -> Self {
        Progress {
            style,
            terminal,
            spinner: Mutex::new(None),
            current: Mutex::new((String::new(), None)),
        }
    }

    fn clear_spinner(&self) {
        if let Ok(mut s) = self.spinner.lock() {
            if let Some(bar) = s.take() {
                bar.finish_and_clear();
            }
        }
    }
}

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
                let amount = match total {
                    Some(t) if t > 0 => format!("{done}/{t}, {}%", done * 100 / t),
                    _ => format!("{done} done"),
                };
                if self.terminal {
                    if let Ok(s) = self.spinner.lock() {
                        if let Some(bar) = s.as_ref() {
                            bar.set_message(format!("{} ({amount})", current.0));
                        }
                    }
                } else if let Some(t) = total.filter(|t| *t > 0) {
                    let tenth = done * 10 / t;
                    if current.1 != Some(tenth) {
                        current.1 = Some(tenth);
                        outln!("    {name}: {amount}");
                    }
                }
            }
            Event::Note { name, message } => {
                let message = crate::sanitize::for_terminal(message);
                if self.terminal {
                    if let Ok(s) = self.spinner.lock() {
                        if let Some(bar) = s.as_ref() {
                            bar.println(format!("  {} {name}: {message}", st.warn("note:")));
                            return;
                        }
                    }
                }
                outln!("  {} {name}: {message}", st.warn("note:"));
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
        }
    }
}

fn humanize(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}
