//! One module run two ways in lockstep: by the reference interpreter and,
//! translated into a container, by the VM with the Alkyl helpers
//! (`AlkylHelpers`) — each over its own copy of one simulated platform
//! (`SimPlatform`). Every call is compared: result or trap, memory and
//! globals, and the platforms (key-value stores, actuator writes, clock,
//! sensors, log).
//!
//! `alkyl ir run --check` runs modules this way; the differential tests and
//! fuzzers (`alkyl-testkit`) drive it with generated programs.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use alkyl_bindings::{AlkylHelpers, SimPlatform, ALL_HELPERS};
use alkyl_vm::container::Script;

use crate::ir::exec::{run_entry, Ended};
use crate::ir::interp::no_gateway;
use crate::ir::{call_input, compile_validated, validate, Instance, IrTrap, Module, Validated};

/// IR instructions the interpreter may execute per call.
pub const ORACLE_FUEL: u64 = 1_000_000;
/// eBPF instructions the VM may execute per call.
pub const VM_BUDGET: u64 = 10_000_000;
/// The app number both sides run as (it selects the local key-value namespace).
pub const APP: u32 = 1;

/// A module, its container, and both sides' state.
pub struct Pair<'m> {
    pub valid: Validated<'m>,
    /// The translation, as a device stores it.
    pub container: Vec<u8>,
    pub instance: Instance,
    /// The VM side's `.data` region (kept between calls, as a device does).
    pub data: Vec<u8>,
    /// The interpreter's platform.
    pub oracle: SimPlatform,
    /// The VM's platform, behind `AlkylHelpers`.
    pub device: SimPlatform,
    /// eBPF instructions the last call executed (0 when it trapped).
    pub last_executed: u64,
    /// IR instructions the last call executed (0 when it trapped).
    pub last_steps: u64,
}

impl<'m> Pair<'m> {
    /// Parses, validates and compiles `bytes`; both sides start from `platform`.
    ///
    /// # Errors
    /// The first stage that rejects the module, as text.
    pub fn new(bytes: &'m [u8], platform: SimPlatform) -> Result<Pair<'m>, String> {
        let module = Module::parse(bytes).map_err(|e| format!("parse: {e}"))?;
        let valid = validate(module).map_err(|e| format!("validator: {e}"))?;
        let container = compile_validated(&valid, &ALL_HELPERS).map_err(|e| format!("compile: {e}"))?;
        let script = Script::load(&container, &ALL_HELPERS).map_err(|e| format!("load: {e}"))?;
        let mut data = vec![0; script.data_size()];
        script.init_data(&mut data);
        let instance = Instance::new(&valid, APP);
        if instance.data_image(&valid) != data {
            return Err(String::from("initial .data differs from the interpreter's state"));
        }
        Ok(Pair {
            valid,
            container,
            instance,
            data,
            oracle: platform.clone(),
            device: platform,
            last_executed: 0,
            last_steps: 0,
        })
    }

    /// Moves both platforms' clocks forward.
    pub fn advance_ms(&mut self, ms: u64) {
        self.oracle.advance_ms(ms);
        self.device.advance_ms(ms);
    }

    /// Calls `name` on both sides with `args` (the first input slots)
    /// followed by the input bytes `rest`.
    ///
    /// # Errors
    /// Any disagreement, as text. `Ok(Err(IrTrap::OutOfFuel))` when the
    /// interpreter ran out of fuel (the VM is then not run).
    pub fn call(&mut self, name: &str, args: &[u64], rest: &[u8]) -> Result<Result<u64, IrTrap>, String> {
        self.call_with_fuel(name, args, rest, ORACLE_FUEL)
    }

    /// As [`Pair::call`], with a fuel limit for the interpreter.
    ///
    /// # Errors
    /// As [`Pair::call`].
    pub fn call_with_fuel(
        &mut self,
        name: &str,
        args: &[u64],
        rest: &[u8],
        fuel: u64,
    ) -> Result<Result<u64, IrTrap>, String> {
        let input = call_input(args, rest);
        let (index, _) = self.valid.module.function(name).ok_or(format!("no function {name}"))?;
        let expected = self.instance.call(&self.valid, index, &input, &mut self.oracle, fuel, &mut no_gateway);
        if expected == Err(IrTrap::OutOfFuel) {
            return Ok(Err(IrTrap::OutOfFuel));
        }
        let script = Script::load(&self.container, &ALL_HELPERS).map_err(|e| format!("load: {e}"))?;
        let entry = script.entry(name.as_bytes()).ok_or(format!("no entry {name}"))?;
        let mut helpers = AlkylHelpers::new(&mut self.device, APP);
        let run = run_entry(&script, &script, entry, &mut self.data, &input, &mut helpers, VM_BUDGET)
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
        if self.oracle != self.device {
            return Err(format!(
                "{name}{args:?}: platform state differs:\n interpreter {:?}\n VM          {:?}",
                self.oracle, self.device
            ));
        }
        self.last_executed = run.executed;
        self.last_steps = expected.map_or(0, |c| c.steps);
        Ok(expected.map(|c| c.value))
    }
}
