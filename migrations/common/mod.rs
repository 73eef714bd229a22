//! Helpers shared by Field Notes' migrations. The registry includes this module once, beside the
//! migrations, which use it as `super::common`.

pub mod admin;
