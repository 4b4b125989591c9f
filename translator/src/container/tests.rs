use alloc::vec;

use super::*;

fn sample() -> ContainerRepr {
    let mut c = ContainerRepr {
        version: 7,
        data: vec![1, 2, 3],
        rodata: b"const".to_vec(),
        text: crate::ebpf::assemble("mov %r0, 1\nexit\nmov %r0, 2\nexit").unwrap(),
        trailer: Some(TrailerRepr { bss_len: 9, stack_size: 64, helpers: vec![1, 0x12, 0x40] }),
        ..ContainerRepr::default()
    };
    c.add_function("first", 0).unwrap();
    c.add_function("second", 16).unwrap();
    c.pad_sections();
    c
}

#[test]
fn emit_parse_round_trip() {
    let c = sample();
    let bytes = c.emit().unwrap();
    assert_eq!(bytes.len(), c.buffer_len());
    assert_eq!(&bytes[..4], b"rBPF");
    assert_eq!(ContainerRepr::parse(&bytes).unwrap(), c);
    assert_eq!(c.function_name(1), Some(&b"second"[..]));
    assert_eq!(c.data.len() % 8, 0);
    assert_eq!(c.rodata.len() % 8, 0);
}

#[test]
fn names_are_appended_after_rodata() {
    let c = sample();
    assert_eq!(&c.rodata[..5], b"const");
    assert_eq!(c.functions[0], FunctionRepr { name_offset: 5, location: 0 });
    assert_eq!(c.functions[1], FunctionRepr { name_offset: 11, location: 16 });
}

#[test]
fn field_limits_are_errors() {
    let mut c = ContainerRepr { rodata: vec![0; 70_000], ..ContainerRepr::default() };
    assert!(matches!(c.add_function("late", 0), Err(EmitError::NameOffset { offset: 70_000, .. })));
    let mut c = ContainerRepr::default();
    assert!(matches!(c.add_function("far", 1 << 16), Err(EmitError::Location { .. })));
    let c = ContainerRepr {
        trailer: Some(TrailerRepr { helpers: (0..20_000).collect(), ..TrailerRepr::default() }),
        ..ContainerRepr::default()
    };
    assert!(matches!(c.emit(), Err(EmitError::TooLarge { .. })));
}

#[test]
fn compression_round_trips() {
    use alkyl_protocol::compress::{compress, inflate};
    let bytes = sample().emit().unwrap();
    let packed = compress(&bytes).unwrap();
    assert_eq!(inflate(&packed, bytes.len() as u32, 4096).unwrap(), bytes);
    let sizes = measure(&bytes, 32).unwrap();
    assert_eq!((sizes.text, sizes.container), (32, bytes.len()));
    assert!(sizes.compressed < bytes.len());
}
