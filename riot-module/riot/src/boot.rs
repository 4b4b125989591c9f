//! What the firmware does and reports once at start.

use alloc::vec::Vec;

use alkyl_vm::describe::{Describe, Hex, Sink};
use alkyl_vm::DEFAULT_BUDGET;
use riot_wrappers::{gnrc, saul, thread, ztimer};

use crate::allocator;
use crate::builtin::{FLETCHER32, SAMPLE_FLETCHER32, SAMPLE_INPUT};
use crate::console::{line, Console, Ipv6};
use crate::execution::execute;

/// Verifies and runs the built-in Fletcher32 over the sample input, and
/// prints the result, the instruction count and the wall time.
pub fn self_test() {
    let clock = ztimer::Clock::usec();
    let (elapsed, result) = clock.time_with_result(|| execute(FLETCHER32, SAMPLE_INPUT, DEFAULT_BUDGET));
    let micros = elapsed.map_or(0, |t| t.0);
    match result {
        Ok(exit) => line(&(
            ("fletcher32 over ", SAMPLE_INPUT.len(), " bytes: r0 = ", Hex(exit.r0)),
            (" (", if exit.r0 == SAMPLE_FLETCHER32 { "as expected" } else { "UNEXPECTED" }),
            ("), ", exit.executed, " instructions, ", micros, " us (verify + run)"),
        )),
        Err(e) => line(&("fletcher32 self-test failed: ", e)),
    }
}

/// Prints the SAUL registry: what scripts will be able to read and drive.
pub fn list_sensors() {
    let mut count = 0;
    for entry in saul::RegistryEntry::all() {
        count += 1;
        let class = entry.type_().and_then(|c| c.name()).unwrap_or("?");
        match entry.read() {
            Ok(value) => line(&("saul: ", entry.name().unwrap_or("?"), " (", class, "): ", Value(value))),
            Err(_) => line(&("saul: ", entry.name().unwrap_or("?"), " (", class, "): not readable")),
        }
    }
    line(&("saul: ", count, " device(s)"));
}

/// Prints each network interface's IPv6 addresses (where to send CoAP).
pub fn list_addresses() {
    for netif in gnrc::Netif::all() {
        let pid: i16 = netif.pid().into();
        line(&("netif ", pid, ":"));
        match netif.ipv6_addrs() {
            Ok(addrs) => {
                for a in &addrs {
                    line(&("    ", Ipv6(*a.raw())));
                }
            }
            Err(_) => line(&"    (no IPv6)"),
        }
    }
}

/// Heap and stack high-water marks, printed when they grow (checked every
/// few seconds from the main loop; stack figures need `DEVELHELP`).
#[derive(Default)]
pub struct Usage {
    checked_ms: u64,
    heap_peak: usize,
    stacks: Vec<usize>,
}

/// How often [`Usage::check`] looks.
const USAGE_EVERY_MS: u64 = 5_000;

impl Usage {
    pub fn check(&mut self, now_ms: u64) {
        if now_ms < self.checked_ms + USAGE_EVERY_MS {
            return;
        }
        self.checked_ms = now_ms;
        let (live, peak) = allocator::usage();
        let mut grew = peak > self.heap_peak;
        self.heap_peak = peak;
        let stats: Vec<_> = thread::KernelPID::all_pids().map(|p| (p, p.stack_stats().ok())).collect();
        self.stacks.resize(stats.len(), 0);
        for ((_, s), seen) in stats.iter().zip(&mut self.stacks) {
            if let Some(s) = s {
                grew |= s.used() > *seen;
                *seen = s.used();
            }
        }
        if !grew {
            return;
        }
        ("usage: heap ", live, " B (peak ", peak, " B); stack used/size:").describe(&mut Console);
        for (pid, s) in &stats {
            if let Some(s) = s {
                (" ", pid.get_name().unwrap_or("?"), " ", s.used(), "/", s.size()).describe(&mut Console);
            }
        }
        Console.text("\n");
    }
}

/// A SAUL reading as riot-wrappers' `Display` shows it: `21`, or
/// `[1, 2, 3]`, then `×10^SCALE` unless the scale is 0, then the unit's
/// name (RIOT's `phydat_unit_write`).
struct Value(saul::Phydat);

impl Describe for Value {
    fn describe(&self, out: &mut dyn Sink) {
        let p = &self.0;
        match p.value() {
            [v] => v.describe(out),
            values => {
                out.text("[");
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        out.text(", ");
                    }
                    v.describe(out);
                }
                out.text("]");
            }
        }
        if p.scale() != 0 {
            ("×10^", p.scale()).describe(out);
        }
        if let Some(name) = p.unit().and_then(|u| u.name_owned::<16>()) {
            (" ", name.as_str()).describe(out);
        }
    }
}
