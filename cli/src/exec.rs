//! Running a raw program the way `alkyl run`, the conformance runner and the
//! bpf_conformance plugin all do: verify, then run over a 512-byte stack and
//! the input memory by the invocation convention (`docs/isa.md`,
//! "Invocation": address in `r1`, length in `r2`) with one difference the
//! CLI asks for explicitly: the input is mapped **read-write**
//! ([`Invocation::with_writable_input`]), as the conformance suite's
//! programs write their memory.

use alkyl_vm::fast::{self, Op};
use alkyl_vm::{
    verify, Entry, Executable, Exit, HelperError, HelperSet, Helpers, Invocation, MapError, MemoryMap, Program,
    Runnable, Trap, VerifyError, STACK_SIZE,
};

/// Which interpreter runs a program.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// The reference interpreter (`alkyl_vm::run`): decodes every slot as it runs.
    #[default]
    Reference,
    /// The fast engine (`alkyl_vm::fast`): translated once at load.
    Fast,
}

/// Why a program produced no result.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("verification failed: {0}")]
    Verify(VerifyError),
    #[error("{0}")]
    Trap(Trap),
    /// The input memory cannot be mapped (4 GiB or more).
    #[error("cannot map input memory: {0}")]
    Map(MapError),
    /// The fast engine could not translate the program.
    #[error("translation failed: {0}")]
    Translate(fast::TranslateError),
}

/// Verifies and runs `code` over `input`.
///
/// # Errors
/// The verifier's rejection or the trap that ended the run.
// The reference-engine shorthand other commands use.
#[allow(dead_code)]
pub fn execute<H: Helpers>(code: &[u8], input: &mut [u8], helpers: &mut H, budget: u64) -> Result<Exit, ExecError> {
    execute_on(Engine::Reference, code, input, helpers, budget)
}

/// [`execute`] on the chosen engine.
///
/// # Errors
/// As [`execute`].
pub fn execute_on<H: Helpers>(
    engine: Engine,
    code: &[u8],
    input: &mut [u8],
    helpers: &mut H,
    budget: u64,
) -> Result<Exit, ExecError> {
    let program = verify(code, helpers).map_err(ExecError::Verify)?;
    let mut stack = [0u8; STACK_SIZE];
    let mut run = Invocation::with_writable_input(&mut stack, input).map_err(ExecError::Map)?;
    run_on(engine, &program, program.main(), &mut run, helpers, budget)
}

/// Runs a verified `program` from `entry` on `engine` over `run`: the one
/// place the CLI picks an engine.
///
/// # Errors
/// The trap that ended the run, or the fast engine's translation error.
pub fn run_on<H: Helpers + ?Sized>(
    engine: Engine,
    program: &Program<'_>,
    entry: Entry,
    run: &mut Invocation<'_>,
    helpers: &mut H,
    budget: u64,
) -> Result<Exit, ExecError> {
    let mut storage = Vec::new();
    let executable = match engine {
        Engine::Reference => Executable::Reference(*program),
        Engine::Fast => {
            storage.resize(fast::storage_len(program), Op::EMPTY);
            // Storage is sized by `storage_len`, so translation cannot fail.
            Executable::Fast(fast::translate(program, &mut storage).map_err(ExecError::Translate)?)
        }
    };
    executable.run(entry, run, helpers, budget).map_err(ExecError::Trap)
}

/// The helpers the public bpf_conformance plugins provide: id 5, "unwind",
/// returns its argument and ends the run when that argument is zero.
#[derive(Debug, Default)]
pub struct ConformanceHelpers;

/// Helper id of "unwind" in the bpf_conformance suite.
pub const UNWIND: u32 = 5;

impl HelperSet for ConformanceHelpers {
    fn contains(&self, id: u32) -> bool {
        id == UNWIND
    }
}

impl Helpers for ConformanceHelpers {
    fn call(&mut self, id: u32, args: [u64; 5], _: &mut MemoryMap<'_>) -> Result<u64, HelperError> {
        match id {
            UNWIND if args[0] == 0 => Err(HelperError::Aborted),
            UNWIND => Ok(args[0]),
            other => Err(HelperError::Unknown(other)),
        }
    }
}
