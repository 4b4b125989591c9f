//! `alkyl-translator`: the toolchain side of Alkyl.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

pub mod ebpf;
pub mod ir;
