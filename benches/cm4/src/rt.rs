#![cfg_attr(feature = "size-image", allow(dead_code))] // the size image prints nothing
//! The minimal runtime of the image: the nRF52840's 64-entry vector table
//! (initial SP, reset, 14 system exceptions, 48 peripheral interrupts, as
//! on the real chip; cortex-m-rt's default would be 240 entries), reset
//! (FPU on, `.data` copied, `.bss` zeroed), and ARM semihosting for output
//! and exit under QEMU.

use core::arch::asm;
use core::fmt;
use core::ptr::{addr_of, addr_of_mut};

extern "C" {
    static mut _sdata: u32;
    static mut _edata: u32;
    static _sidata: u32;
    static mut _sbss: u32;
    static mut _ebss: u32;
    static _stack_bottom: u32;
}

#[link_section = ".vector_table.reset"]
#[no_mangle]
pub static RESET_VECTOR: unsafe extern "C" fn() -> ! = reset;

/// 14 system exceptions + 48 nRF52840 interrupts.
#[link_section = ".vector_table.handlers"]
#[no_mangle]
pub static HANDLERS: [unsafe extern "C" fn() -> !; 62] = [fault; 62];

unsafe extern "C" fn fault() -> ! {
    exit(false)
}

#[no_mangle]
unsafe extern "C" fn reset() -> ! {
    // CPACR: full access to CP10/CP11 (the FPU of the Cortex-M4F).
    core::ptr::write_volatile(
        0xE000_ED88 as *mut u32,
        core::ptr::read_volatile(0xE000_ED88 as *const u32) | (0xF << 20),
    );
    asm!("dsb", "isb");
    let mut src = addr_of!(_sidata);
    let mut dst = addr_of_mut!(_sdata);
    while dst < addr_of_mut!(_edata) {
        core::ptr::write_volatile(dst, core::ptr::read_volatile(src));
        dst = dst.add(1);
        src = src.add(1);
    }
    let mut dst = addr_of_mut!(_sbss);
    while dst < addr_of_mut!(_ebss) {
        core::ptr::write_volatile(dst, 0);
        dst = dst.add(1);
    }
    exit(crate::main())
}

/// The lowest address of the main stack (the top of `.bss`).
#[allow(dead_code)] // unused in the size image without a VM
pub fn stack_bottom() -> usize {
    addr_of!(_stack_bottom) as usize
}

/// The current stack pointer.
#[allow(dead_code)] // unused in the size image without a VM
#[inline(always)]
pub fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads a register.
    unsafe { asm!("mov {}, sp", out(reg) sp, options(nomem, nostack)) };
    sp
}

const SYS_WRITE0: u32 = 0x04;
const SYS_EXIT: u32 = 0x18;
const ADP_STOPPED_APPLICATION_EXIT: u32 = 0x20026;
const ADP_STOPPED_RUNTIME_ERROR: u32 = 0x20023;

fn semihost(op: u32, arg: usize) {
    // SAFETY: the ARM semihosting call convention; QEMU runs with
    // `-semihosting-config enable=on` (on hardware without a debugger this
    // would fault, which this image never runs on).
    unsafe { asm!("bkpt 0xab", inout("r0") op => _, in("r1") arg, options(nostack)) };
}

/// Ends the QEMU run: exit status 0 on success, 1 on failure.
pub fn exit(ok: bool) -> ! {
    semihost(SYS_EXIT, (if ok { ADP_STOPPED_APPLICATION_EXIT } else { ADP_STOPPED_RUNTIME_ERROR }) as usize);
    loop {
        // SAFETY: waiting for the debugger to stop us.
        unsafe { asm!("wfi") };
    }
}

/// A line of semihosting output (printed on drop or when full).
pub struct Line {
    buf: [u8; 120],
    len: usize,
}

impl Line {
    pub const fn new() -> Self {
        Line { buf: [0; 120], len: 0 }
    }

    fn flush(&mut self) {
        if self.len > 0 {
            self.buf[self.len] = 0;
            semihost(SYS_WRITE0, self.buf.as_ptr() as usize);
            self.len = 0;
        }
    }
}

impl fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len == self.buf.len() - 1 {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        self.flush();
    }
}

/// `println!` over semihosting.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let mut line = $crate::rt::Line::new();
        let _ = writeln!(line, $($arg)*);
    }};
}

#[cfg(not(feature = "size-image"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("panic: {info}");
    exit(false)
}

/// The size image panics as deployed firmware does (panic-halt style): no
/// message formatting, so `core::fmt` is not linked on its account.
#[cfg(feature = "size-image")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(false)
}
