//! The program and input compiled into the firmware.

/// Fletcher-32 (apps/asm/fletcher32.s), assembled by build.rs.
pub static FLETCHER32: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fletcher32.bin"));

/// The project's 361-byte sample input (apps/data/sample-361.bin).
pub static SAMPLE_INPUT: &[u8] = include_bytes!("../../../apps/data/sample-361.bin");

/// Fletcher32 of [`SAMPLE_INPUT`], as `alkyl run` computes it on the host.
pub const SAMPLE_FLETCHER32: u64 = 0xd4ce_696f;
