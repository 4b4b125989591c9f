//! Console lines without `core::fmt`: every line the firmware prints is a
//! description (`alkyl_vm::describe`: string pieces and integers) written
//! piece by piece to RIOT's stdio, so the firmware links no formatter for
//! its own output. The panic handler is here too, for the same reason
//! (riot-wrappers' own handler formats the panic message).

use core::fmt::Write as _;

use alkyl_vm::describe::{Describe, HexDigits, Sink};
use riot_wrappers::stdio::Stdio;

/// RIOT's stdio as a [`Sink`] (`write_str` is `stdio_write`; no
/// formatting machinery is involved).
pub struct Console;

impl Sink for Console {
    fn text(&mut self, s: &str) {
        let _ = Stdio {}.write_str(s);
    }
}

/// Prints `d` and a newline (`println!` without the formatter).
#[inline(never)]
pub fn line(d: &dyn Describe) {
    d.describe(&mut Console);
    Console.text("\n");
}

/// An IPv6 address in the usual text form (RFC 5952: lower-case hex
/// groups without leading zeros, the first longest run of two or more
/// zero groups as `::`).
pub struct Ipv6(pub [u8; 16]);

impl Describe for Ipv6 {
    fn describe(&self, out: &mut dyn Sink) {
        let g = |i: usize| u16::from_be_bytes([self.0[2 * i], self.0[2 * i + 1]]);
        // The longest run of zero groups (the first of equal ones).
        let (mut run, mut run_len, mut i) = (8, 0, 0);
        while i < 8 {
            let start = i;
            while i < 8 && g(i) == 0 {
                i += 1;
            }
            if i - start > run_len {
                (run, run_len) = (start, i - start);
            }
            i += 1;
        }
        if run_len < 2 {
            (run, run_len) = (8, 0);
        }
        let mut i = 0;
        while i < 8 {
            if i == run {
                out.text("::");
                i += run_len;
                continue;
            }
            if i != 0 && i != run + run_len {
                out.text(":");
            }
            HexDigits(g(i).into(), 1).describe(out);
            i += 1;
        }
    }
}

/// Prints that a panic happened (the thread; file and line with the
/// feature `panic-location`; never the message) without formatting, then
/// stops the thread, as riot-wrappers' handler does: a panic in a thread with interrupts enabled leaves that
/// thread asleep for good (the others go on); anywhere else (an ISR,
/// interrupts off) is RIOT's `core_panic`.
#[panic_handler]
#[allow(unsafe_code)]
fn panic(info: &core::panic::PanicInfo) -> ! {
    use riot_wrappers::thread;

    let in_thread = thread::InThread::new().map(|i| i.irq_is_enabled()).unwrap_or(false);
    if !in_thread {
        // Not printing here (as riot-wrappers): an ISR's stack is small,
        // and core_panic reports on DEVELHELP builds.
        // SAFETY: core_panic takes a static NUL-terminated message and
        // does not return.
        unsafe {
            riot_wrappers::riot_sys::core_panic(
                riot_wrappers::riot_sys::core_panic_t_PANIC_GENERAL_ERROR,
                c"RUST PANIC".as_ptr() as _,
            )
        };
    }
    let me = thread::get_pid();
    Console.text("panic in thread ");
    Console.text(me.get_name().unwrap_or("unnamed"));
    // Not the message: reading it (even `as_str`) keeps every panic
    // site's arguments, and with them the formatter (`Debug` of the
    // unwrapped errors, the index and range texts). Reading the location
    // keeps them too (the `PanicInfo` holding both escapes into this
    // call), so file and line are printed only with the feature
    // `panic-location` (README.md "Size and memory").
    location(info);
    Console.text("\n");
    // No unwinding: the thread is dead, anything it held stays held.
    loop {
        thread::sleep();
    }
}

/// ` at FILE:LINE` of a panic.
#[cfg(feature = "panic-location")]
fn location(info: &core::panic::PanicInfo) {
    if let Some(at) = info.location() {
        (" at ", at.file(), ":", at.line()).describe(&mut Console);
    }
}

#[cfg(not(feature = "panic-location"))]
fn location(_: &core::panic::PanicInfo) {}
