//! One verified run of an eBPF program over an input, as `alkyl run` does it:
//! a 512-byte stack at `STACK_VADDR`, the input read-only at `INPUT_VADDR`
//! (address in `r1`, length in `r2`), no helpers, a bounded budget.

use core::fmt;

use alkyl_vm::{
    run, verify, AccessPolicy, Exit, MapError, MemoryMap, NoHelpers, Trap, VerifyError, INPUT_VADDR, STACK_SIZE,
    STACK_VADDR,
};

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

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Verify(e) => write!(f, "verify: {e}"),
            RunError::Map(e) => write!(f, "input: {e}"),
            RunError::Trap(t) => write!(f, "{t}"),
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
    let mut mem = MemoryMap::new();
    mem.map(STACK_VADDR, &mut stack, AccessPolicy::ReadWrite).map_err(RunError::Map)?;
    mem.map_read_only(INPUT_VADDR, input).map_err(RunError::Map)?;
    let args = [INPUT_VADDR, input.len() as u64];
    run(&program, program.main(), &args, &mut mem, &mut NoHelpers, budget).map_err(RunError::Trap)
}
