//! Shared harness: map a stack and a guarded input region, run with a small
//! budget and helpers that dereference their pointer arguments, then check
//! that nothing outside the granted slices changed.

use alkyl_vm::{
    run, AccessPolicy, HelperError, HelperSet, Helpers, MemoryMap, Program, INPUT_VADDR, STACK_SIZE, STACK_VADDR,
};

pub const GUARD: usize = 64;
pub const CANARY: u8 = 0xa5;

/// Helper 1: sum `r2` bytes at `r1`. Helper 2: fill `r2` bytes at `r1` with `r3`.
pub struct FuzzHelpers;

impl HelperSet for FuzzHelpers {
    fn contains(&self, id: u32) -> bool {
        id == 1 || id == 2
    }
}

impl Helpers for FuzzHelpers {
    fn call(&mut self, id: u32, a: [u64; 5], mem: &mut MemoryMap<'_>) -> Result<u64, HelperError> {
        match id {
            1 => Ok(mem.read(a[0], a[1])?.iter().map(|&b| b as u64).sum()),
            2 => {
                mem.write(a[0], a[1])?.fill(a[2] as u8);
                Ok(0)
            }
            _ => Err(HelperError::Unknown(id)),
        }
    }
}

pub fn run_guarded(program: &Program<'_>, input: &[u8]) {
    let mut backing = vec![CANARY; GUARD + input.len() + GUARD];
    backing[GUARD..GUARD + input.len()].copy_from_slice(input);
    let mut stack = [0u8; STACK_SIZE + 2 * GUARD];
    stack[..GUARD].fill(CANARY);
    stack[GUARD + STACK_SIZE..].fill(CANARY);
    {
        let (_, rest) = backing.split_at_mut(GUARD);
        let (region, _) = rest.split_at_mut(input.len());
        let (_, srest) = stack.split_at_mut(GUARD);
        let (sregion, _) = srest.split_at_mut(STACK_SIZE);
        let len = region.len() as u64;
        let mut mem = MemoryMap::new();
        mem.map(STACK_VADDR, sregion, AccessPolicy::ReadWrite).unwrap();
        mem.map(INPUT_VADDR, region, AccessPolicy::ReadWrite).unwrap();
        let _ = run(program, program.main(), &[INPUT_VADDR, len], &mut mem, &mut FuzzHelpers, 10_000);
    }
    assert!(backing[..GUARD].iter().all(|&b| b == CANARY), "write below the input region");
    assert!(backing[GUARD + input.len()..].iter().all(|&b| b == CANARY), "write above the input region");
    assert!(stack[..GUARD].iter().all(|&b| b == CANARY), "write below the stack");
    assert!(stack[GUARD + STACK_SIZE..].iter().all(|&b| b == CANARY), "write above the stack");
}
