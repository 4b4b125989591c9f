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
//!
//! # Layers
//! The modules form a stack; a module uses only those below it, never one
//! above (no import cycles):
//!
//! | layer | modules |
//! |---|---|
//! | 1 | [`abi`] (segment addresses, stack size, call save area, call depth), [`describe`] (error texts without `core::fmt`), [`isa`] (encoding), [`storage`] (what a verified program may own) |
//! | 2 | [`memory`] (regions and their checks) |
//! | 3 | [`helper`] (host calls, over a [`MemoryMap`]) |
//! | 4 | [`trap`] (how a run ends) |
//! | 5 | `semantics` (crate-private: what each instruction does, shared by both engines) |
//! | 6 | [`mod@verify`] (the load-time checks) |
//! | 7 | [`container`] (the container view and the verified, owning or borrowing, `Script`) |
//! | 8 | [`interp`] (the reference interpreter), `fast` (feature `fast`: the fast engine and `FastScript`) |
//! | 9 | [`invoke`] (the one way hosts run a program: regions, `r1..=r5`, either engine) |
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_debug_implementations)]
// The fast engine's table (`fast::table`) expands one row per macro step.
#![recursion_limit = "256"]

#[cfg(feature = "alloc")]
extern crate alloc;

// Modules in layer order (see "Layers" above).
pub mod abi;
pub mod container;
pub mod describe;
#[cfg(feature = "fast")]
pub mod fast;
pub mod helper;
pub mod interp;
pub mod invoke;
pub mod isa;
pub mod memory;
mod semantics;
pub mod storage;
pub mod trap;
pub mod verify;

pub use abi::{
    segment_vaddr, CALL_SAVE_BYTES, DATA_VADDR, DEFAULT_BUDGET, INPUT_VADDR, MAX_CALL_DEPTH, MAX_REGIONS, RODATA_VADDR,
    STACK_SIZE, STACK_VADDR,
};
pub use helper::{HelperError, HelperSet, Helpers, NoHelpers};
pub use interp::run;
pub use invoke::{Executable, Invocation, Runnable};
pub use memory::{AccessPolicy, MapError, MemFault, MemoryMap, MemoryTable, Slot};
pub use trap::{Exit, Trap, TrapKind};
pub use verify::{verify, verify_stack, Entry, Program, VerifyError, VerifyErrorKind};
