//! Running a translated entry point on the VM the way a device does: a
//! 512-byte stack, the module's `.data` read-write at `DATA_VADDR`, the
//! call input read-only at `INPUT_VADDR`, parameters in `r1..`.

use alkyl_vm::{
    run, verify, AccessPolicy, Helpers, MapError, MemoryMap, Trap, VerifyError, DATA_VADDR, INPUT_VADDR, STACK_SIZE,
    STACK_VADDR,
};

use super::translate::{EntryPoint, TranslatedModule};
use super::trap::IrTrap;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// `RETURN` / `STOP`, with the value (in `r0`).
    Returned(u64),
    /// An IR trap, decoded from the VM's trap.
    Trapped(IrTrap),
    /// A VM trap with no IR meaning: a translator bug.
    Unexplained(Trap),
}

/// A finished run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmRun {
    pub ended: Ended,
    /// eBPF instructions executed.
    pub executed: u64,
}

/// Why a run could not start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecError {
    Verify(VerifyError),
    Map(MapError),
}

impl core::fmt::Display for ExecError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ExecError::Verify(e) => write!(f, "verification failed: {e}"),
            ExecError::Map(e) => write!(f, "cannot map memory: {e}"),
        }
    }
}

impl core::error::Error for ExecError {}

/// Verifies `module.text` and runs `entry` with `args`; `data` is the
/// module's `.data` (kept between calls by the caller).
///
/// # Errors
/// The program fails verification or a region cannot be mapped.
pub fn run_entry<H: Helpers>(
    module: &TranslatedModule,
    entry: &EntryPoint,
    args: &[u64],
    data: &mut [u8],
    input: &[u8],
    helpers: &mut H,
    budget: u64,
) -> Result<VmRun, ExecError> {
    let program = verify(&module.text, module.helpers.as_slice()).map_err(ExecError::Verify)?;
    let start = program.entry(entry.pc as usize).map_err(ExecError::Verify)?;
    let mut stack = [0u8; STACK_SIZE];
    let mut mem = MemoryMap::new();
    mem.map(STACK_VADDR, &mut stack, AccessPolicy::ReadWrite).map_err(ExecError::Map)?;
    mem.map(DATA_VADDR, data, AccessPolicy::ReadWrite).map_err(ExecError::Map)?;
    mem.map_read_only(INPUT_VADDR, input).map_err(ExecError::Map)?;
    Ok(match run(&program, start, args, &mut mem, helpers, budget) {
        Ok(exit) => VmRun { ended: Ended::Returned(exit.r0), executed: exit.executed },
        Err(trap) => {
            VmRun { ended: IrTrap::from_vm(&trap).map_or(Ended::Unexplained(trap), Ended::Trapped), executed: 0 }
        }
    })
}
