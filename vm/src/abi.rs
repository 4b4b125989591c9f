//! The ABI between a host, the VM and every tool that lays out programs
//! (the ELF packer, the Alkyl IR translator): where regions are mapped,
//! how large the stack is, how local calls use it, how deep they nest.
//! One definition, so the three cannot drift. What `r1..=r5` hold at the
//! start of a run is the invocation convention (`docs/isa.md`,
//! "Invocation").

/// Maximum number of regions in one [`crate::MemoryMap`]: segments
/// `1..=MAX_REGIONS`.
pub const MAX_REGIONS: usize = 8;

/// The virtual address at which segment `n` starts.
pub const fn segment_vaddr(n: u32) -> u64 {
    (n as u64) << 32
}

/// Conventional address of the stack region (segment 1).
pub const STACK_VADDR: u64 = segment_vaddr(1);
/// Conventional address of the input / context region (segment 2).
pub const INPUT_VADDR: u64 = segment_vaddr(2);
/// Conventional address of a container's `.data` (segment 3).
pub const DATA_VADDR: u64 = segment_vaddr(3);
/// Conventional address of a container's `.rodata` (segment 4).
pub const RODATA_VADDR: u64 = segment_vaddr(4);

/// Size of the eBPF stack in bytes (RFC 9669 programs assume 512).
pub const STACK_SIZE: usize = 512;

/// Bytes a local call keeps between the caller's frame and the callee's:
/// the caller's `r6..=r9`, saved there (not in the host) until `exit`.
/// See `docs/isa.md`, "Local calls".
pub const CALL_SAVE_BYTES: u64 = 32;

/// Maximum nesting of program-local calls.
pub const MAX_CALL_DEPTH: usize = 8;

/// Instructions a run may execute when the host does not say otherwise.
pub const DEFAULT_BUDGET: u64 = 1_000_000;
