//! Mostly-valid programs (`alkyl_testkit::ebpf::valid_program`): verified
//! programs must run without panic and without touching memory outside
//! their regions.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::with_valid_program(data, common::run_guarded));
