//! Test support shared by the differential tests, the fuzz target, the
//! app tests, the CLI and the benchmarks: a generator of well-formed
//! programs, a [`Pair`] that runs a module on the reference interpreter
//! and, translated, on the VM in lockstep, and native oracles for the
//! apps, and clang's BPF backend with the project's flags. (`std` only;
//! nothing here runs on a device.)

pub mod clang;
pub mod diff;
pub mod gen;
pub mod oracle;
pub mod pair;

pub use diff::{check, start_platform, Outcome};
pub use gen::{generate, Program};
pub use pair::Pair;
