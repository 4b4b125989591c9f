//! Test support shared by the differential tests, the fuzz target and the
//! CLI: a generator of well-formed programs and the differential check.
//! (`std` only; nothing here runs on a device.)

pub mod diff;
pub mod gen;

pub use diff::{check, Outcome};
pub use gen::{generate, Program};
