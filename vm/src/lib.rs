//! `alkyl-vm`: an allocation-free, `no_std` eBPF virtual machine (RFC 9669)
//! for microcontrollers.
//!
//! Data flows one way: bytes → [`verify`] (once, at load) → [`run`] (per
//! event). The program sees memory only through a [`MemoryMap`] of
//! host-granted regions, calls the host only through [`Helpers`] the
//! verifier allowed, and stops within its instruction budget.
//!
//! ```
//! use alkyl_vm::{verify, run, MemoryMap, NoHelpers, AccessPolicy, STACK_VADDR};
//! // mov r0, 42 ; exit
//! let code = [0xb7, 0, 0, 0, 42, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
//! let program = verify(&code, &NoHelpers).unwrap();
//! let mut stack = [0u8; 512];
//! let mut mem = MemoryMap::new();
//! mem.map(STACK_VADDR, &mut stack, AccessPolicy::ReadWrite).unwrap();
//! let exit = run(&program, program.main(), &[], &mut mem, &mut NoHelpers, 100).unwrap();
//! assert_eq!(exit.r0, 42);
//! ```
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_debug_implementations)]

pub mod container;
#[cfg(feature = "fast")]
pub mod fast;
pub mod helper;
pub mod interp;
pub mod isa;
pub mod memory;
pub mod verify;

pub use helper::{HelperError, HelperSet, Helpers, NoHelpers};
pub use interp::{run, Exit, Trap, TrapKind, DEFAULT_BUDGET, MAX_CALL_DEPTH};
pub use memory::{AccessPolicy, MapError, MemFault, MemoryMap, DATA_VADDR, INPUT_VADDR, RODATA_VADDR, STACK_VADDR};
pub use verify::{verify, Entry, Program, VerifyError, VerifyErrorKind};

/// Size of the eBPF stack in bytes (RFC 9669 programs assume 512).
pub const STACK_SIZE: usize = 512;
