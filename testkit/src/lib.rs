//! `alkyl-testkit`: test support shared by the differential tests, the fuzz
//! targets, the app tests and the benchmarks (`publish = false`; production
//! crates use it only as a dev-dependency):
//!
//! - [`ebpf`]: eBPF-level support: the test helpers, the opcode tables and
//!   a generator of mostly-valid programs from arbitrary bytes (the VM's
//!   tests, the fuzz targets);
//! - [`gen`]: a generator of well-formed Alkyl IR programs;
//! - [`diff`]: the differential check of a generated program, run on the
//!   reference interpreter and, translated, on the VM in lockstep
//!   (`alkyl_translator::ir::lockstep::Pair`, which the CLI's `alkyl ir run
//!   --check` uses too);
//! - [`oracle`]: native oracles for the apps (Fletcher-32, the rBPF paper's
//!   input);
//! - [`rng`]: deterministic noise for the parser and decoder tests;
//! - [`clang`]: clang's BPF backend with the project's flags.

pub mod clang;
pub mod diff;
pub mod ebpf;
pub mod gen;
pub mod oracle;
pub mod rng;

pub use diff::{check, start_platform, Outcome};
pub use gen::{generate, Program};

/// Assembles IR text into module bytes (keep them alive for
/// `alkyl_translator::ir::lockstep::Pair::new`).
///
/// # Errors
/// The assembler's error, as text.
pub fn assemble(source: &str) -> Result<Vec<u8>, String> {
    alkyl_translator::ir::text::assemble(source).map_err(|e| format!("assembler: {e}"))
}
