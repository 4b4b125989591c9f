//! What the firmware does and reports once at start.

use alkyl_vm::DEFAULT_BUDGET;
use riot_wrappers::{gnrc, println, saul, ztimer};

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
