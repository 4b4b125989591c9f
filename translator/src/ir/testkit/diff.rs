//! The differential check: a program run by the reference interpreter and,
//! translated, by the VM must agree on every call's result or trap, on
//! linear memory and globals, and on every effect on the device.

use alloc::format;
use alloc::string::String;

use crate::ir::exec::{run_entry, Ended};
use crate::ir::sim::SimDevice;
use crate::ir::{text, translate, validate, Instance, IrTrap, Module};

use super::gen::Program;

/// IR instructions the oracle may execute per call (generated programs
/// need far fewer; running out makes the case inconclusive, and counted).
pub const ORACLE_FUEL: u64 = 100_000;
/// eBPF instructions the VM may execute per call.
pub const VM_BUDGET: u64 = 10_000_000;

/// What a checked program did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Calls compared.
    pub calls: u32,
    /// Calls that trapped (on both sides, with the same trap).
    pub traps: u32,
    /// Calls the oracle could not finish within its fuel.
    pub inconclusive: u32,
}

/// The device every differential run starts from: a small key-value store
/// (so `SSTORE` sometimes fails), a non-zero clock.
pub fn start_device() -> SimDevice {
    let mut d = SimDevice::new();
    d.capacity = 4;
    d.clock_ms = 0x1234_5678;
    d
}

/// Runs `program` on both sides.
///
/// # Errors
/// A description of the first disagreement (or of a generated program the
/// toolchain rejects, which is a generator or toolchain bug too).
pub fn check(program: &Program) -> Result<Outcome, String> {
    let bytes = text::assemble(&program.text).map_err(|e| format!("assembler: {e}"))?;
    let module = Module::parse(&bytes).map_err(|e| format!("parse: {e}"))?;
    let valid = validate(module).map_err(|e| format!("validator: {e}"))?;
    let translated = translate(&valid).map_err(|e| format!("translator: {e}"))?;
    let entry = translated.function("f").ok_or("no entry f")?;
    let mut instance = Instance::new(&valid);
    let mut data = translated.data.clone();
    let (mut oracle_dev, mut vm_dev) = (start_device(), start_device());
    let mut outcome = Outcome::default();
    if instance.data_image(&valid) != data {
        return Err(String::from("initial .data differs from the interpreter's state"));
    }
    for (n, (args, input)) in program.calls.iter().enumerate() {
        let expected = instance.call(&valid, 0, args, input, &mut oracle_dev, ORACLE_FUEL);
        if expected == Err(IrTrap::OutOfFuel) {
            outcome.inconclusive += 1;
            return Ok(outcome);
        }
        let run = run_entry(&translated, entry, args, &mut data, input, &mut vm_dev, VM_BUDGET)
            .map_err(|e| format!("call {n}: {e}"))?;
        let agree = match (expected, run.ended) {
            (Ok(c), Ended::Returned(v)) => c.value == v,
            (Err(t), Ended::Trapped(u)) => t == u,
            _ => false,
        };
        if !agree {
            return Err(format!("call {n} {args:?}: interpreter {expected:?}, VM {:?}", run.ended));
        }
        if expected.is_err() {
            outcome.traps += 1;
        }
        let image = instance.data_image(&valid);
        if image != data {
            return Err(format!("call {n}: memory/globals differ:\n interpreter {image:?}\n VM          {data:?}"));
        }
        if oracle_dev != vm_dev {
            return Err(format!("call {n}: device state differs:\n interpreter {oracle_dev:?}\n VM          {vm_dev:?}"));
        }
        outcome.calls += 1;
    }
    Ok(outcome)
}
