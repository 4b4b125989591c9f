//! Containers: a fixture laid out byte by byte as Femto-Container's tools
//! write it, every rule `Container::new_checked` enforces, and loading
//! (helper sets, entry points, `.data`/`.rodata` regions); the writer
//! (`ContainerRepr`): parse, emit, round trips, field limits.

use alkyl_asm::assemble;
use alkyl_vm::container::{
    pad_section, Container, ContainerError, ContainerErrorKind as K, ContainerRepr, Convention, EmitError, Field,
    FunctionRepr, LoadError, Script, Table, TrailerRepr, MAGIC,
};
use alkyl_vm::{
    run, AccessPolicy, HelperError, HelperSet, Helpers, MemoryMap, NoHelpers, TrapKind, VerifyErrorKind, STACK_VADDR,
};

/// A container as Femto-Container's gen_rbf writes it (magic "rBPF",
/// version 0, no flags, .data and .rodata padded to 8, names appended to
/// .rodata, locations in bytes): .data holds 40, .rodata holds 2; `main`
/// returns .data[0] + .rodata[0] using the 0xb8/0xd8 lddw forms.
fn fixture() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"rBPF");
    // version, flags, data_len, rodata_len, text_len, functions
    for v in [0u32, 0, 8, 16, 8 * 8, 1] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&[40, 0, 0, 0, 0, 0, 0, 0]); // .data
    b.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 0]); // .rodata: the constant...
    b.extend_from_slice(b"main\0\0\0\0"); // ...then the name, padded to 8
    for insn in [
        [0xb8, 0x01, 0, 0, 0, 0, 0, 0], // lddwd r1, .data + 0
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0xd8, 0x02, 0, 0, 0, 0, 0, 0], // lddwr r2, .rodata + 0
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0x61, 0x10, 0, 0, 0, 0, 0, 0], // ldxw r0, [r1]
        [0x61, 0x23, 0, 0, 0, 0, 0, 0], // ldxw r3, [r2]
        [0x0f, 0x30, 0, 0, 0, 0, 0, 0], // add r0, r3
        [0x95, 0, 0, 0, 0, 0, 0, 0],    // exit
    ] {
        b.extend_from_slice(&insn);
    }
    b.extend_from_slice(&[8, 0, 0, 0, 0, 0]); // name at .rodata+8, flags 0, location 0
    b
}

fn run_main(bytes: &[u8]) -> u64 {
    let script = Script::load(bytes, &alkyl_vm::NoHelpers).unwrap();
    let mut data = vec![0u8; script.data_size()];
    script.init_data(&mut data);
    let mut stack = [0u8; 512];
    let mut mem = MemoryMap::new();
    mem.map(STACK_VADDR, &mut stack, AccessPolicy::ReadWrite).unwrap();
    script.map(&mut mem, &mut data).unwrap();
    let entry = script.entry(b"main").unwrap();
    run(&script.program(), entry, &[], &mut mem, &mut script.restrict(&mut alkyl_vm::NoHelpers), 100).unwrap().r0
}

#[test]
fn femto_container_fixture_loads_and_runs() {
    let bytes = fixture();
    let c = Container::new_checked(&bytes[..]).unwrap();
    assert_eq!((c.version(), c.flags(), c.function_count()), (0, 0, 1));
    assert_eq!(c.function(0).unwrap().name, b"main");
    assert!(c.declared_helpers().is_none());
    assert_eq!(run_main(&bytes), 42);
}

#[test]
fn c_constant_magic_byte_order_is_accepted() {
    let mut bytes = fixture();
    bytes[..4].copy_from_slice(&0x7242_5046u32.to_le_bytes());
    assert!(Container::new_checked(&bytes[..]).unwrap().has_native_c_magic());
    assert_eq!(run_main(&bytes), 42);
}

/// The Repr of checked container bytes.
fn parse(bytes: &[u8]) -> ContainerRepr<'_> {
    ContainerRepr::parse(&Container::new_checked(bytes).unwrap())
}

/// The bytes of `repr`, as tools that want a `Vec` emit them.
fn emit(repr: &ContainerRepr<'_>) -> Vec<u8> {
    repr.to_bytes().unwrap()
}

#[test]
fn repr_round_trips_the_fixture() {
    let bytes = fixture();
    let repr = parse(&bytes);
    assert_eq!(repr.buffer_len(), bytes.len());
    assert_eq!(emit(&repr), bytes);
    assert_eq!(repr.function_name(0), Some(&b"main"[..]));
    assert_eq!(repr.functions.get(0), Some(FunctionRepr { name_offset: 8, location: 0 }));
}

/// Sections and entries laid out as gen_rbf does: names appended to
/// `.rodata`, `.data` and `.rodata` padded to 8.
struct Sample {
    data: Vec<u8>,
    rodata: Vec<u8>,
    text: Vec<u8>,
    functions: Vec<FunctionRepr>,
}

impl Sample {
    fn new() -> Sample {
        let mut s = Sample {
            data: vec![1, 2, 3],
            rodata: b"const".to_vec(),
            text: assemble("mov %r0, 1\nexit\nmov %r0, 2\nexit").unwrap(),
            functions: Vec::new(),
        };
        for (name, location) in [("first", 0), ("second", 16)] {
            s.functions.push(FunctionRepr::append_name(&mut s.rodata, name.as_bytes(), location).unwrap());
        }
        pad_section(&mut s.data);
        pad_section(&mut s.rodata);
        s
    }

    fn repr(&self) -> ContainerRepr<'_> {
        ContainerRepr {
            version: 7,
            data: &self.data,
            rodata: &self.rodata,
            text: &self.text,
            functions: Table::Values(&self.functions),
            trailer: Some(TrailerRepr {
                bss_len: 9,
                stack_size: 64,
                helpers: Table::Values(&[1, 0x12, 0x40]),
                ..TrailerRepr::default()
            }),
        }
    }
}

#[test]
fn repr_emit_parse_round_trip() {
    let sample = Sample::new();
    let repr = sample.repr();
    let bytes = emit(&repr);
    assert_eq!(bytes.len(), repr.buffer_len());
    assert_eq!(&bytes[..4], b"rBPF");
    let parsed = parse(&bytes);
    assert_eq!(parsed, repr);
    assert!(matches!(parsed.functions, Table::Wire(_)), "parsing borrows the table");
    assert_eq!(emit(&parsed), bytes);
    assert_eq!(parsed.function_name(1), Some(&b"second"[..]));
    assert_eq!(parsed.trailer.unwrap().helpers.iter().collect::<Vec<_>>(), [1, 0x12, 0x40]);
    assert_eq!(repr.data.len() % 8, 0);
    assert_eq!(repr.rodata.len() % 8, 0);
}

#[test]
fn repr_round_trips_every_checked_mutation() {
    // One byte changed anywhere, in containers with and without a trailer:
    // whatever still checks emits back to the same bytes (magic normalised).
    let sample = Sample::new();
    let mut checked = 0;
    for base in [fixture(), emit(&sample.repr())] {
        for at in 0..base.len() {
            for v in [0, 1, 8, 0x46, 0x80, 0xff] {
                let mut b = base.clone();
                b[at] = v;
                let Ok(c) = Container::new_checked(&b[..]) else { continue };
                let e = emit(&ContainerRepr::parse(&c));
                assert_eq!((&e[..4], &e[4..]), (&MAGIC[..], &b[4..]), "byte {at} = {v:#x}");
                checked += 1;
            }
        }
    }
    assert!(checked > 300, "{checked} mutations checked");
}

#[test]
fn repr_names_are_appended_after_rodata() {
    let sample = Sample::new();
    assert_eq!(&sample.rodata[..5], b"const");
    assert_eq!(
        sample.functions,
        [FunctionRepr { name_offset: 5, location: 0 }, FunctionRepr { name_offset: 11, location: 16 }]
    );
}

#[test]
fn repr_field_limits_are_errors() {
    let mut rodata = vec![0; 70_000];
    assert_eq!(FunctionRepr::append_name(&mut rodata, b"late", 0), Err(EmitError::NameOffset { offset: 70_000 }));
    assert_eq!(rodata.len(), 70_000, "nothing appended");
    let mut rodata = Vec::new();
    assert_eq!(FunctionRepr::append_name(&mut rodata, b"far", 1 << 16), Err(EmitError::Location { location: 1 << 16 }));
    let helpers: Vec<u32> = (0..20_000).collect();
    let repr = ContainerRepr {
        trailer: Some(TrailerRepr { helpers: Table::Values(&helpers), ..TrailerRepr::default() }),
        ..ContainerRepr::default()
    };
    let mut bytes = vec![0; repr.buffer_len()];
    assert!(matches!(repr.emit(&mut bytes), Err(EmitError::TooLarge { what: "helper list", .. })));
    let repr = ContainerRepr::default();
    let mut short = [0u8; 27];
    assert_eq!(repr.emit(&mut short), Err(EmitError::BufferLength { needed: 28, len: 27 }));
}

fn err(bytes: &[u8]) -> ContainerError {
    Container::new_checked(bytes).unwrap_err()
}

fn kind(bytes: &[u8]) -> K {
    err(bytes).kind
}

fn patch32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = fixture();
    for n in 0..bytes.len() {
        assert!(matches!(kind(&bytes[..n]), K::Truncated { .. }), "prefix of {n} bytes");
    }
    assert_eq!(
        err(&bytes[..10]),
        ContainerError { offset: 10, kind: K::Truncated { field: Field::Header, needed: 28 } }
    );
}

#[test]
fn header_rules() {
    let good = fixture();
    let mut b = good.clone();
    b[0] = b'R';
    assert_eq!(err(&b), ContainerError { offset: 0, kind: K::BadMagic { magic: *b"RBPF" } });

    let mut b = good.clone();
    patch32(&mut b, 8, 0x8000);
    assert_eq!(err(&b), ContainerError { offset: 8, kind: K::UnknownFlags { flags: 0x8000 } });
    patch32(&mut b, 8, 1);
    assert_eq!(kind(&b), K::CompressedText);

    let mut b = good.clone();
    patch32(&mut b, 20, 0);
    assert_eq!(kind(&b), K::EmptyText);
    patch32(&mut b, 20, 12);
    assert_eq!(kind(&b), K::TextNotMultipleOf8 { len: 12 });

    // Lengths that overflow a u32 sum are just "truncated", never a wrap.
    let mut b = good.clone();
    patch32(&mut b, 12, u32::MAX);
    patch32(&mut b, 16, u32::MAX);
    assert!(matches!(kind(&b), K::Truncated { field: Field::Data, .. }));
    let mut b = good.clone();
    patch32(&mut b, 24, 257);
    assert_eq!(kind(&b), K::TooManyFunctions { count: 257 });
    let mut b = good.clone();
    patch32(&mut b, 24, 2);
    assert!(matches!(kind(&b), K::Truncated { field: Field::FunctionTable, .. }));

    let mut b = good;
    b.push(0);
    assert_eq!(kind(&b), K::TrailingBytes { len: 1 });
}

#[test]
fn function_table_rules() {
    let good = fixture();
    let table = good.len() - 6;
    let with = |name: u16, flags: u16, loc: u16| {
        let mut b = good.clone();
        b[table..table + 2].copy_from_slice(&name.to_le_bytes());
        b[table + 2..table + 4].copy_from_slice(&flags.to_le_bytes());
        b[table + 4..].copy_from_slice(&loc.to_le_bytes());
        b
    };
    assert_eq!(kind(&with(8, 1, 0)), K::FunctionFlags { index: 0, flags: 1 });
    assert_eq!(kind(&with(8, 0, 64)), K::FunctionOutsideText { index: 0, location: 64 });
    assert_eq!(kind(&with(8, 0, 4)), K::FunctionMisaligned { index: 0, location: 4 });
    assert_eq!(kind(&with(16, 0, 0)), K::NameOutsideRodata { index: 0, offset: 16 });
    assert_eq!(kind(&with(12, 0, 0)), K::EmptyName { index: 0 });
    // A name that runs to the end of .rodata without a NUL.
    let mut b = with(8, 0, 0);
    b[44..52].copy_from_slice(b"mainmain");
    assert_eq!(kind(&b), K::NameUnterminated { index: 0 });
    // An entry on the second slot of an lddw passes the table checks but
    // not loading.
    let b = with(8, 0, 8);
    Container::new_checked(&b[..]).unwrap();
    assert_eq!(Script::load(&b, &alkyl_vm::NoHelpers).unwrap_err(), LoadError::BadEntry { index: 0 });
}

fn with_functions(names: &[&str]) -> Vec<u8> {
    let text = assemble("mov %r0, 7\nexit").unwrap();
    let mut rodata = Vec::new();
    let functions: Vec<_> =
        names.iter().map(|n| FunctionRepr::append_name(&mut rodata, n.as_bytes(), 0).unwrap()).collect();
    emit(&ContainerRepr { text: &text, rodata: &rodata, functions: Table::Values(&functions), ..Default::default() })
}

#[test]
fn duplicate_names_are_rejected() {
    assert_eq!(kind(&with_functions(&["a", "b", "a"])), K::DuplicateName { index: 2 });
    Container::new_checked(&with_functions(&["a", "b", "ab"])[..]).unwrap();
}

/// `call 1; exit`.
const CALL_1: &[u8] = &[0x85, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];

fn trailer(helpers: &[u32]) -> ContainerRepr<'_> {
    ContainerRepr {
        text: CALL_1,
        trailer: Some(TrailerRepr {
            bss_len: 16,
            stack_size: 512,
            helpers: Table::Values(helpers),
            ..TrailerRepr::default()
        }),
        data: &[1, 2, 3],
        ..ContainerRepr::default()
    }
}

#[test]
fn trailer_declares_memory_and_helpers() {
    let bytes = emit(&trailer(&[1, 5]));
    let script = Script::load(&bytes, &[1u32, 2, 5]).unwrap();
    assert_eq!(script.data_size(), 3 + 16);
    assert_eq!(script.stack_size(), 512);
    assert_eq!(script.declared_helpers().unwrap().iter().collect::<Vec<_>>(), [1, 5]);
    let mut data = vec![0xee; script.data_size()];
    script.init_data(&mut data);
    assert_eq!(data[..4], [1, 2, 3, 0]);
    assert!(data[3..].iter().all(|&b| b == 0), ".bss is zeroed");
    assert_eq!(parse(&bytes), trailer(&[1, 5]));
}

#[test]
fn trailer_rules() {
    let good = emit(&trailer(&[1, 5]));
    let at = good.len() - 24; // the trailer: 16 bytes + 2 ids
    let mut b = good.clone();
    b[at + 2] = 2;
    assert_eq!(kind(&b), K::TrailerVersion { version: 2 });
    let mut b = good.clone();
    b[at + 3] = 1;
    assert_eq!(kind(&b), K::TrailerReserved);
    let mut b = good.clone();
    b[at + 15] = 1;
    assert_eq!(kind(&b), K::TrailerReserved);
    // Byte 14: the calling convention, 0 or 1.
    let mut b = good.clone();
    b[at + 14] = 1;
    assert_eq!(Script::load(&b, &[1u32, 5]).unwrap().convention(), Convention::FemtoContainer);
    b[at + 14] = 2;
    assert_eq!(kind(&b), K::UnknownConvention { value: 2 });
    let mut b = good.clone();
    b[at] = 20;
    assert_eq!(kind(&b), K::TrailerLength { declared: 20, expected: 24 });
    assert!(matches!(kind(&good[..good.len() - 1]), K::Truncated { field: Field::TrailerHelpers, .. }));
    assert!(matches!(kind(&good[..at + 10]), K::Truncated { field: Field::Trailer, .. }));
    let unsorted = emit(&trailer(&[5, 1]));
    assert_eq!(kind(&unsorted), K::HelpersNotSorted { index: 1 });
    let dup = emit(&trailer(&[1, 1]));
    assert_eq!(kind(&dup), K::HelpersNotSorted { index: 1 });
    let mut huge = trailer(&[1]);
    huge.trailer.as_mut().unwrap().bss_len = u32::MAX;
    assert_eq!(kind(&emit(&huge)), K::DataTooLarge);
    // 512 is the default and the maximum stack.
    for size in [513, 1024, u32::MAX] {
        let mut big = trailer(&[1]);
        big.trailer.as_mut().unwrap().stack_size = size;
        let bytes = emit(&big);
        let err = Container::new_checked(&bytes[..]).unwrap_err();
        assert_eq!(err.kind, K::StackTooLarge { size });
        assert_eq!(err.offset, bytes.len() - 20 + 8, "the stack_size field");
    }
}

/// A container of `asm` declaring `stack` bytes of stack (0: the default).
fn with_stack(asm: &str, stack: u32) -> Vec<u8> {
    let text = assemble(asm).unwrap();
    emit(&ContainerRepr {
        text: &text,
        trailer: Some(TrailerRepr { stack_size: stack, ..TrailerRepr::default() }),
        ..ContainerRepr::default()
    })
}

#[test]
fn static_stack_accesses_fit_the_declared_stack() {
    let below = |depth, stack_size| {
        LoadError::Verify(alkyl_vm::VerifyError { pc: 1, kind: VerifyErrorKind::BelowStack { depth, stack_size } })
    };
    // `[r10 - 24]` fits 24 bytes exactly, not 16; 0 declares the default 512.
    let direct = "mov %r0, 0\nstxdw [%r10-24], %r0\nldxdw %r0, [%r10-24]\nexit";
    for (stack, fits) in [(24, true), (32, true), (512, true), (0, true), (16, false), (8, false)] {
        match Script::load(&with_stack(direct, stack)[..], &NoHelpers) {
            Ok(_) => assert!(fits, "{stack}"),
            Err(e) => assert!(!fits && e == below(24, stack), "{stack}: {e}"),
        }
    }
    // Through a copy of r10 (`&local`), and the default 512 as a limit.
    let copy = "mov %r1, %r10\nadd %r1, -40\nstb [%r1], 1\nexit";
    assert!(Script::load(&with_stack(copy, 40)[..], &NoHelpers).is_ok());
    assert_eq!(Script::load(&with_stack(copy, 32)[..], &NoHelpers).unwrap_err(), below(40, 32));
    let deep = "mov %r0, 0\nstb [%r10-513], 0\nexit";
    assert_eq!(Script::load(&with_stack(deep, 0)[..], &NoHelpers).unwrap_err(), below(513, 512));
    // A raw program declares nothing: `verify` has no limit (the region
    // bounds it at run time), `verify_stack` the one it is given.
    let code = assemble(direct).unwrap();
    assert_eq!(alkyl_vm::verify(&code, &NoHelpers).unwrap().frame_size(), 24);
    assert!(alkyl_vm::verify_stack(&code, &NoHelpers, 24).is_ok());
    assert_eq!(
        alkyl_vm::verify_stack(&code, &NoHelpers, 23).unwrap_err().kind,
        VerifyErrorKind::BelowStack { depth: 24, stack_size: 23 }
    );
}

#[test]
fn dynamic_stack_accesses_are_bounded_by_the_declared_stack() {
    // The jump forgets the copy of r10: the access at r10 - 16 is checked
    // by the region alone, which a host maps with the declared 8 bytes.
    let asm = "mov %r1, %r10\nja +0\nstb [%r1-16], 1\nstb [%r1-8], 1\nmov %r0, 7\nexit";
    for (stack, ok) in [(8, false), (16, true)] {
        let bytes = with_stack(asm, stack);
        let script = Script::load(&bytes[..], &NoHelpers).unwrap();
        let mut stack = vec![0u8; script.stack_size()];
        let mut run = alkyl_vm::Invocation::new(&mut stack, &[]).unwrap();
        let result = alkyl_vm::Runnable::run(&script, script.program().main(), &mut run, &mut NoHelpers, 100);
        match result {
            Ok(exit) => assert!(ok && exit.r0 == 7),
            Err(trap) => {
                // Below the stack's segment: the address is in segment 0.
                assert!(!ok && trap.pc == 2, "{trap}");
                assert!(matches!(trap.kind, TrapKind::Memory(m) if m.kind == alkyl_vm::memory::FaultKind::Unmapped));
            }
        }
    }
}

/// Helpers 1 and 2 both exist on the host; 2 returns 22.
struct Host;
impl HelperSet for Host {
    fn contains(&self, id: u32) -> bool {
        id == 1 || id == 2
    }
}
impl Helpers for Host {
    fn call(&mut self, id: u32, _: [u64; 5], _: &mut MemoryMap<'_>) -> Result<u64, HelperError> {
        Ok(id as u64 * 11)
    }
}

#[test]
fn allowed_helpers_are_the_intersection() {
    // Declared {1}: a static call to 2 fails verification...
    let call_2 = assemble("call 2\nexit").unwrap();
    let err = Script::load(&emit(&ContainerRepr { text: &call_2, ..trailer(&[1]) }), &Host).unwrap_err();
    assert_eq!(
        err,
        LoadError::Verify(alkyl_vm::VerifyError { pc: 0, kind: VerifyErrorKind::HelperNotAllowed { id: 2 } })
    );
    // ...declared {1, 3}: the host lacks 3, so a call to 3 fails too...
    let call_3 = assemble("call 3\nexit").unwrap();
    assert!(Script::load(&emit(&ContainerRepr { text: &call_3, ..trailer(&[1, 3]) }), &Host).is_err());
    // ...and callx to 2 traps at run time through `restrict`.
    let callx_2 = assemble("mov %r3, 2\ncall %r3\nexit").unwrap();
    let bytes = emit(&ContainerRepr { text: &callx_2, ..trailer(&[1]) });
    let script = Script::load(&bytes, &Host).unwrap();
    let mut mem = MemoryMap::new();
    let trap = run(&script.program(), script.program().main(), &[], &mut mem, &mut script.restrict(&mut Host), 10)
        .unwrap_err();
    assert_eq!(trap.kind, TrapKind::HelperNotAllowed { id: 2 });
    // Without a trailer the host's set alone applies.
    let plain = emit(&ContainerRepr { text: &call_2, ..ContainerRepr::default() });
    let script = Script::load(&plain, &Host).unwrap();
    let r0 = run(&script.program(), script.program().main(), &[], &mut mem, &mut script.restrict(&mut Host), 10);
    assert_eq!(r0.unwrap().r0, 22);
}

#[test]
fn entries_by_name() {
    let text = assemble("mov %r0, 1\nexit\nmov %r0, 2\nexit").unwrap();
    let mut rodata = Vec::new();
    let functions = [
        FunctionRepr::append_name(&mut rodata, b"one", 0).unwrap(),
        FunctionRepr::append_name(&mut rodata, b"two", 16).unwrap(),
    ];
    pad_section(&mut rodata);
    let repr =
        ContainerRepr { text: &text, rodata: &rodata, functions: Table::Values(&functions), ..Default::default() };
    let bytes = emit(&repr);
    let script = Script::load(&bytes, &alkyl_vm::NoHelpers).unwrap();
    let names: Vec<_> = script.entries().map(|(f, e)| (f.name.to_vec(), e.pc())).collect();
    assert_eq!(names, [(b"one".to_vec(), 0), (b"two".to_vec(), 2)]);
    assert!(script.entry(b"three").is_none());
    let mut mem = MemoryMap::new();
    let two = script.entry(b"two").unwrap();
    assert_eq!(run(&script.program(), two, &[], &mut mem, &mut alkyl_vm::NoHelpers, 10).unwrap().r0, 2);
    assert_eq!(repr.functions.get(1), Some(FunctionRepr { name_offset: 4, location: 16 }));
}

#[test]
fn verification_errors_come_through_loading() {
    let repr = ContainerRepr { text: &[0xff, 0, 0, 0, 0, 0, 0, 0], ..Default::default() };
    let err = Script::load(&emit(&repr), &alkyl_vm::NoHelpers).unwrap_err();
    assert!(matches!(err, LoadError::Verify(e) if e.kind == VerifyErrorKind::UnknownOpcode { opcode: 0xff }));
}
