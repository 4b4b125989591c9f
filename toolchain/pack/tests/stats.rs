//! Container sizes: heatshrink with the upload parameters round-trips and
//! shrinks a container.

use alkyl_pack::{compress, decompress, measure};
use alkyl_vm::container::{ContainerRepr, Table, TrailerRepr};

fn container() -> Vec<u8> {
    // mov r0, 1; exit; mov r0, 2; exit
    let text = [[0xb7, 0, 0, 0, 1, 0, 0, 0], [0x95, 0, 0, 0, 0, 0, 0, 0]].repeat(2).concat();
    let repr = ContainerRepr {
        version: 7,
        data: &[1, 2, 3, 0, 0, 0, 0, 0],
        rodata: b"const\0\0\0",
        text: &text,
        trailer: Some(TrailerRepr { bss_len: 9, stack_size: 64, helpers: Table::Values(&[1, 0x12, 0x40]) }),
        ..ContainerRepr::default()
    };
    let mut bytes = vec![0; repr.buffer_len()];
    repr.emit(&mut bytes).unwrap();
    bytes
}

#[test]
fn compression_round_trips() {
    let bytes = container();
    let packed = compress(&bytes).unwrap();
    assert_eq!(decompress(&packed, 4096).unwrap(), bytes);
    let noise: Vec<u8> = (0..1000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    assert_eq!(decompress(&compress(&noise).unwrap(), 2000).unwrap(), noise);
    let sizes = measure(&bytes, 32).unwrap();
    assert_eq!((sizes.text, sizes.container), (32, bytes.len()));
    assert!(sizes.compressed < bytes.len());
}
