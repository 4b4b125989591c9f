//! Arbitrary bytes as the flash region of the record store (alkyl-flash):
//! opening it, reading every record, saving and removing must never panic
//! (typed errors only). The input is the image's first bytes; the rest of
//! the 4 pages is erased, as on a device whose store was half written.
#![no_main]

use alkyl_flash::sim::{SimFlash, PAGE};
use alkyl_flash::FlashStorage;
use alkyl_runtime::Storage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut image = vec![0xff; 4 * PAGE];
    let n = data.len().min(image.len());
    image[..n].copy_from_slice(&data[..n]);
    let Ok(mut s) = FlashStorage::open(SimFlash::from_image(image)) else { return };
    let Ok(keys) = s.keys() else { return };
    for k in &keys {
        let _ = s.load(k);
    }
    let _ = s.save("kv.fuzz", &[1; 1500]);
    for k in &keys {
        let _ = s.remove(k);
    }
});
