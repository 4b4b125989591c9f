//! `alkyl-translator`: Alkyl IR and its translation to eBPF ([`ir`]): the
//! module format, its text form, validation, the reference interpreter,
//! lowering to eBPF and compilation into a verified script container.
//! `no_std` + `alloc`: a device compiles uploaded modules itself.
//!
//! The eBPF assembler is `alkyl-asm`, the ELF packer `alkyl-pack`, the
//! container writer `alkyl_vm::container::ContainerRepr`, the program
//! generators and differential harness `alkyl-testkit`.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

pub mod ir;
