//! Test support shared by the differential tests, the fuzz target, the
//! app tests, the CLI and the benchmarks: a generator of well-formed
//! programs, and a [`Pair`] that runs a module on the reference
//! interpreter and, translated, on the VM in lockstep. (`std` only; nothing
//! here runs on a device.)

pub mod diff;
pub mod gen;
pub mod pair;

pub use diff::{check, Outcome};
pub use gen::{generate, Program};
pub use pair::Pair;
