//! One verified run of an eBPF program over an input by the invocation
//! convention (`alkyl_vm::Invocation`): a 512-byte stack, the input
//! read-only (address in `r1`, length in `r2`), no helpers, a bounded
//! budget, on the reference interpreter.

use alkyl_vm::describe::{Describe, Sink};
use alkyl_vm::{verify, Exit, Invocation, MapError, NoHelpers, Runnable, Trap, VerifyError, STACK_SIZE};

/// Why a run produced no result.
#[derive(Clone, Copy, Debug)]
pub enum RunError {
    /// The program was rejected at load.
    Verify(VerifyError),
    /// The input could not be mapped (larger than a region may be).
    Map(MapError),
    /// The program stopped early.
    Trap(Trap),
}

impl Describe for RunError {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            RunError::Verify(e) => ("verify: ", e).describe(out),
            RunError::Map(e) => ("input: ", e).describe(out),
            RunError::Trap(t) => t.describe(out),
        }
    }
}

/// Verifies `code` and runs it over `input` with at most `budget` instructions.
///
/// # Errors
/// The verifier's rejection (with its instruction index), or the trap that
/// ended the run.
///
/// # Panics
/// Never (the VM's guarantee for verified programs).
pub fn execute(code: &[u8], input: &[u8], budget: u64) -> Result<Exit, RunError> {
    let program = verify(code, &NoHelpers).map_err(RunError::Verify)?;
    let mut stack = [0u8; STACK_SIZE];
    let mut run = Invocation::new(&mut stack, input).map_err(RunError::Map)?;
    program.run(program.main(), &mut run, &mut NoHelpers, budget).map_err(RunError::Trap)
}
