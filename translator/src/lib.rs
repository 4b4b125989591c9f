//! `alkyl-translator`: the toolchain side of Alkyl.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

pub mod container;
pub mod ebpf;
#[cfg(feature = "elf")]
pub mod elf;
pub mod ir;
