//! One module run two ways in lockstep: by the reference interpreter and,
//! translated, by the VM, each with its own simulated device. Every call
//! is compared: result or trap, memory and globals, device state.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::ir::exec::{run_entry, Ended};
use crate::ir::sim::SimDevice;
use crate::ir::{text, translate, validate, Instance, IrTrap, Module, TranslatedModule, Validated};

/// IR instructions the interpreter may execute per call.
pub const ORACLE_FUEL: u64 = 1_000_000;
/// eBPF instructions the VM may execute per call.
pub const VM_BUDGET: u64 = 10_000_000;

/// A module, its translation, and both sides' state.
pub struct Pair<'m> {
    pub valid: Validated<'m>,
    pub translated: TranslatedModule,
    pub instance: Instance,
    pub data: Vec<u8>,
    pub oracle_device: SimDevice,
    pub vm_device: SimDevice,
    /// eBPF instructions the last call executed (0 when it trapped).
    pub last_executed: u64,
    /// IR instructions the last call executed (0 when it trapped).
    pub last_steps: u64,
}

/// Assembles IR text into module bytes (keep them alive for [`Pair::new`]).
///
/// # Errors
/// The assembler's error, as text.
pub fn assemble(source: &str) -> Result<Vec<u8>, String> {
    text::assemble(source).map_err(|e| format!("assembler: {e}"))
}

impl<'m> Pair<'m> {
    /// Parses, validates and translates `bytes`; both sides start from `device`.
    ///
    /// # Errors
    /// The first stage that rejects the module, as text.
    pub fn new(bytes: &'m [u8], device: SimDevice) -> Result<Pair<'m>, String> {
        let module = Module::parse(bytes).map_err(|e| format!("parse: {e}"))?;
        let valid = validate(module).map_err(|e| format!("validator: {e}"))?;
        let translated = translate(&valid).map_err(|e| format!("translator: {e}"))?;
        let instance = Instance::new(&valid);
        let data = translated.data.clone();
        if instance.data_image(&valid) != data {
            return Err(String::from("initial .data differs from the interpreter's state"));
        }
        Ok(Pair {
            valid,
            translated,
            instance,
            data,
            oracle_device: device.clone(),
            vm_device: device,
            last_executed: 0,
            last_steps: 0,
        })
    }

    /// Sets both devices' clocks.
    pub fn set_clock(&mut self, ms: u32) {
        self.oracle_device.clock_ms = ms;
        self.vm_device.clock_ms = ms;
    }

    /// Calls `name` on both sides.
    ///
    /// # Errors
    /// Any disagreement, as text. `Ok(Err(IrTrap::OutOfFuel))` when the
    /// interpreter ran out of fuel (the VM is then not run).
    pub fn call(&mut self, name: &str, args: &[u64], input: &[u8]) -> Result<Result<u64, IrTrap>, String> {
        self.call_with_fuel(name, args, input, ORACLE_FUEL)
    }

    /// As [`Pair::call`], with a fuel limit for the interpreter.
    ///
    /// # Errors
    /// As [`Pair::call`].
    pub fn call_with_fuel(
        &mut self,
        name: &str,
        args: &[u64],
        input: &[u8],
        fuel: u64,
    ) -> Result<Result<u64, IrTrap>, String> {
        let (index, _) = self.valid.module.function(name).ok_or(format!("no function {name}"))?;
        let expected = self.instance.call(&self.valid, index, args, input, &mut self.oracle_device, fuel);
        if expected == Err(IrTrap::OutOfFuel) {
            return Ok(Err(IrTrap::OutOfFuel));
        }
        let entry = self.translated.function(name).ok_or(format!("no entry {name}"))?;
        let run = run_entry(&self.translated, entry, args, &mut self.data, input, &mut self.vm_device, VM_BUDGET)
            .map_err(|e| format!("{name}: {e}"))?;
        let agree = match (expected, run.ended) {
            (Ok(c), Ended::Returned(v)) => c.value == v,
            (Err(t), Ended::Trapped(u)) => t == u,
            _ => false,
        };
        if !agree {
            return Err(format!("{name}{args:?}: interpreter {expected:?}, VM {:?}", run.ended));
        }
        let image = self.instance.data_image(&self.valid);
        if image != self.data {
            return Err(format!(
                "{name}{args:?}: memory/globals differ:\n interpreter {image:?}\n VM          {:?}",
                self.data
            ));
        }
        if self.oracle_device != self.vm_device {
            return Err(format!(
                "{name}{args:?}: device state differs:\n interpreter {:?}\n VM          {:?}",
                self.oracle_device, self.vm_device
            ));
        }
        self.last_executed = run.executed;
        self.last_steps = expected.map_or(0, |c| c.steps);
        Ok(expected.map(|c| c.value))
    }
}
