//! Colour, only on a terminal and without `NO_COLOR`.

use std::fmt::Display;

/// Styles text, or leaves it plain.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    /// Colours when `color`.
    pub fn new(color: bool) -> Self {
        Style { color }
    }

    fn paint(self, s: impl Display, style: console::Style) -> String {
        style.force_styling(self.color).apply_to(s).to_string()
    }

    /// Success marks.
    pub fn ok(self, s: impl Display) -> String {
        self.paint(s, console::Style::new().green())
    }

    /// Failure marks.
    pub fn error(self, s: impl Display) -> String {
        self.paint(s, console::Style::new().red().bold())
    }

    /// Warnings.
    pub fn warn(self, s: impl Display) -> String {
        self.paint(s, console::Style::new().yellow())
    }

    /// Headings.
    pub fn heading(self, s: impl Display) -> String {
        self.paint(s, console::Style::new().bold())
    }

    /// Secondary text.
    pub fn dim(self, s: impl Display) -> String {
        self.paint(s, console::Style::new().dim())
    }
}
