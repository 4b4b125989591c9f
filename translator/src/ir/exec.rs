//! Running an entry point of a loaded container the way a device runs any
//! script (`alkyl_vm::Invocation`, `docs/isa.md` "Invocation"): the stack
//! (512 bytes, or the container's declared need if larger), the call input
//! read-only (`r1`/`r2`), the host's `.data` copy, `.rodata`, and the
//! host's helpers narrowed to the ones the container declares; on the
//! reference interpreter, or on the engine the caller gives.
//! The outcome is decoded into Alkyl IR terms.

use alloc::vec;

use alkyl_vm::container::Script;
use alkyl_vm::storage::Stable;
use alkyl_vm::{Entry, Helpers, Invocation, MapError, Runnable, Trap};

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
    /// eBPF instructions executed (0 when the run trapped).
    pub executed: u64,
}

/// Runs `entry` of `script` over `input` on `engine`: `script` itself for
/// the reference interpreter, its `FastScript` for the fast engine. `data`
/// is the host's copy of the `.data` region (`script.data_size()` bytes,
/// initialised with `script.init_data`), kept by the caller between calls
/// as a device does.
///
/// # Errors
/// A region cannot be mapped (`data` or `input` of 4 GiB or more).
pub fn run_entry<R: Runnable + ?Sized, B: Stable<u8>, H: Helpers + ?Sized>(
    engine: &R,
    script: &Script<B>,
    entry: Entry,
    data: &mut [u8],
    input: &[u8],
    helpers: &mut H,
    budget: u64,
) -> Result<VmRun, MapError> {
    let mut stack = vec![0u8; script.stack_size()];
    let mut run = Invocation::new(&mut stack, input)?;
    run.script(script, data)?;
    Ok(match engine.run(entry, &mut run, &mut script.restrict(helpers), budget) {
        Ok(exit) => VmRun { ended: Ended::Returned(exit.r0), executed: exit.executed },
        Err(trap) => {
            VmRun { ended: IrTrap::from_vm(&trap).map_or(Ended::Unexplained(trap), Ended::Trapped), executed: 0 }
        }
    })
}
