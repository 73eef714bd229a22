//! The checked plan: `migrations/*.rs`, validated and ordered at build time by `build.rs`.
#![allow(missing_docs)]
include!(concat!(env!("OUT_DIR"), "/registry.rs"));
