//! Arbitrary bytes as a container: parsing and loading (parse + verify)
//! must never panic; a loaded script's every entry point must run without
//! panic and without touching memory outside its regions (guarded like
//! `verify_run`), and `.data`/`.rodata` must be exactly the declared sizes.
//! Every checked container round-trips through `ContainerRepr`: emitting
//! what was parsed gives the same bytes (the magic normalised to `rBPF`).
//! Half the inputs get a valid header prefix so the fuzzer reaches the
//! tables and the trailer quickly.
#![no_main]

use alkyl_vm::container::{Container, ContainerRepr, Script, MAGIC};
use alkyl_vm::{run, AccessPolicy, MemoryMap, INPUT_VADDR, STACK_SIZE, STACK_VADDR};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fn check(bytes: &[u8]) {
    let Ok(c) = Container::new_checked(bytes) else { return };
    // Accessors of a checked container are total.
    assert_eq!(c.len(), bytes.len());
    for f in c.functions() {
        assert!(!f.name.is_empty() && (f.location as usize) < c.text().len());
    }
    let repr = ContainerRepr::parse(&c);
    let mut emitted = vec![0u8; repr.buffer_len()];
    repr.emit(&mut emitted).unwrap();
    assert_eq!((&emitted[..4], &emitted[4..]), (&MAGIC[..], &bytes[4..]));
    let Ok(script) = Script::load(bytes, &common::TestHelpers) else { return };
    assert_eq!(script.data_size(), c.data().len() + c.bss_len() as usize);
    let entries: Vec<_> = script.entries().map(|(_, e)| e).chain([script.program().main()]).collect();
    for entry in entries {
        let mut data = vec![0u8; script.data_size().min(1 << 16)];
        if data.len() != script.data_size() {
            return; // a huge declared .bss: the host would refuse it
        }
        script.init_data(&mut data);
        // Exactly the declared stack (at most 512), as a device maps it.
        let mut stack = vec![0u8; script.stack_size()];
        assert!(stack.len() <= STACK_SIZE);
        let mut input = [0u8; 16];
        let mut mem = MemoryMap::new();
        mem.map(STACK_VADDR, &mut stack, AccessPolicy::ReadWrite).unwrap();
        mem.map(INPUT_VADDR, &mut input, AccessPolicy::ReadWrite).unwrap();
        script.map(&mut mem, &mut data).unwrap();
        let _ = run(&script.program(), entry, &[INPUT_VADDR, 16], &mut mem, &mut script.restrict(&mut common::TestHelpers), 10_000);
    }
    // The guarded harness too, for the main entry.
    common::run_guarded(&script.program(), &[]);
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 {
        check(rest);
        return;
    }
    // Valid magic and plausible small lengths, then the fuzzer's bytes.
    let mut b = Vec::with_capacity(rest.len() + 28);
    b.extend_from_slice(b"rBPF");
    let word = |i: usize| rest.get(i).copied().unwrap_or(0) as u32;
    let flags = if mode & 2 != 0 { 0x100 } else { 0 };
    for v in [0, flags, word(0) % 32, word(1) % 64, (word(2) % 32 + 1) * 8, word(3) % 4] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(rest.get(4..).unwrap_or(&[]));
    check(&b);
});
