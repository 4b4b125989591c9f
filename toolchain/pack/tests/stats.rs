//! Container sizes: heatshrink with the upload parameters
//! (`alkyl_protocol::compress`) round-trips and shrinks a container.

use alkyl_pack::measure;
use alkyl_protocol::compress::{compress, inflate};
use alkyl_vm::container::ContainerRepr;

/// A container of four instructions (`mov r0, 1; exit`, twice).
fn container() -> Vec<u8> {
    let text = [[0xb7, 0, 0, 0, 1, 0, 0, 0], [0x95, 0, 0, 0, 0, 0, 0, 0]].repeat(2).concat();
    let repr = ContainerRepr { version: 7, text: &text, ..ContainerRepr::default() };
    repr.to_bytes().unwrap()
}

#[test]
fn compression_round_trips() {
    let bytes = container();
    let packed = compress(&bytes).unwrap();
    assert_eq!(inflate(&packed, bytes.len() as u32, 4096).unwrap(), bytes);
    let sizes = measure(&bytes, 32).unwrap();
    assert_eq!((sizes.text, sizes.container), (32, bytes.len()));
    assert!(sizes.compressed < bytes.len());
}
