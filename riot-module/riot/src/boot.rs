//! What the firmware does and reports once at start.

use alloc::format;
use alloc::vec::Vec;
use core::fmt::Write as _;

use alkyl_vm::DEFAULT_BUDGET;
use riot_wrappers::{gnrc, println, saul, thread, ztimer};

use crate::allocator;
use crate::builtin::{FLETCHER32, SAMPLE_FLETCHER32, SAMPLE_INPUT};
use crate::execution::execute;

/// Verifies and runs the built-in Fletcher32 over the sample input, and
/// prints the result, the instruction count and the wall time.
pub fn self_test() {
    let clock = ztimer::Clock::usec();
    let (elapsed, result) = clock.time_with_result(|| execute(FLETCHER32, SAMPLE_INPUT, DEFAULT_BUDGET));
    let micros = elapsed.map_or(0, |t| t.0);
    match result {
        Ok(exit) => println!(
            "fletcher32 over {} bytes: r0 = {:#x} ({}), {} instructions, {} us (verify + run)",
            SAMPLE_INPUT.len(),
            exit.r0,
            if exit.r0 == SAMPLE_FLETCHER32 { "as expected" } else { "UNEXPECTED" },
            exit.executed,
            micros
        ),
        Err(e) => println!("fletcher32 self-test failed: {}", e),
    }
}

/// Prints the SAUL registry: what scripts will be able to read and drive.
pub fn list_sensors() {
    let mut count = 0;
    for entry in saul::RegistryEntry::all() {
        count += 1;
        let class = entry.type_().and_then(|c| c.name()).unwrap_or("?");
        match entry.read() {
            Ok(value) => println!("saul: {} ({}): {}", entry.name().unwrap_or("?"), class, value),
            Err(_) => println!("saul: {} ({}): not readable", entry.name().unwrap_or("?"), class),
        }
    }
    println!("saul: {} device(s)", count);
}

/// Prints each network interface's IPv6 addresses (where to send CoAP).
pub fn list_addresses() {
    for netif in gnrc::Netif::all() {
        println!("netif {:?}:", netif.pid());
        match netif.ipv6_addrs() {
            Ok(addrs) => {
                for a in &addrs {
                    println!("    {:?}", a);
                }
            }
            Err(_) => println!("    (no IPv6)"),
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
        let mut line = format!("usage: heap {live} B (peak {peak} B); stack used/size:");
        for (pid, s) in &stats {
            if let Some(s) = s {
                let _ = write!(line, " {} {}/{}", pid.get_name().unwrap_or("?"), s.used(), s.size());
            }
        }
        println!("{}", line);
    }
}
