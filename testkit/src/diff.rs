//! The differential check of a generated program: every call, run by the
//! reference interpreter and, translated, by the VM, must agree ([`Pair`]).

use alkyl_bindings::SimPlatform;
use alkyl_translator::ir::lockstep::Pair;
use alkyl_translator::ir::IrTrap;

use crate::assemble;
use crate::gen::Program;

/// IR instructions the interpreter may execute per generated call
/// (generated programs need far fewer; running out is counted).
pub const GENERATED_FUEL: u64 = 100_000;

/// What a checked program did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Calls compared.
    pub calls: u32,
    /// Calls that trapped (on both sides, with the same trap).
    pub traps: u32,
    /// Calls the interpreter could not finish within its fuel.
    pub inconclusive: u32,
}

/// The platform every differential run starts from: the demo devices (two
/// scripted sensors, two actuators), a small key-value store (so `SSTORE`
/// sometimes fails), a non-zero clock.
pub fn start_platform() -> SimPlatform {
    let mut p = SimPlatform::demo();
    p.set_kv_limit(4);
    p.advance_ms(0x1234_5678);
    p
}

/// Runs `program`'s calls of `f` on both sides.
///
/// # Errors
/// A description of the first disagreement, or of a generated program the
/// toolchain rejects (a generator or toolchain bug too).
pub fn check(program: &Program) -> Result<Outcome, String> {
    let bytes = assemble(&program.text)?;
    let mut pair = Pair::new(&bytes, start_platform())?;
    let mut outcome = Outcome::default();
    for (n, (args, input)) in program.calls.iter().enumerate() {
        match pair.call_with_fuel("f", args, input, GENERATED_FUEL).map_err(|e| format!("call {n}: {e}"))? {
            Err(IrTrap::OutOfFuel) => {
                outcome.inconclusive += 1;
                return Ok(outcome);
            }
            Err(_) => outcome.traps += 1,
            Ok(_) => {}
        }
        outcome.calls += 1;
    }
    Ok(outcome)
}
