//! Hostile or damaged flash content: opening and using the store over any
//! image gives typed errors, never a panic.

use alkyl_flash::sim::{SimFlash, PAGE};
use alkyl_flash::FlashStorage;
use alkyl_runtime::Storage;
use proptest::prelude::*;

/// A real store image (records of every layout, history, garbage).
fn valid_image() -> Vec<u8> {
    static IMAGE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    IMAGE.get_or_init(build_image).clone()
}

fn build_image() -> Vec<u8> {
    let flash = SimFlash::new(4);
    let mut s = FlashStorage::open(flash.clone()).unwrap();
    for i in 0..12u8 {
        s.save("app.a", &vec![i; 1500 + i as usize * 100]).unwrap();
        s.save("kv.a", &[i; 20]).unwrap();
    }
    s.save("retired", &[1; 300]).unwrap();
    s.remove("kv.a").unwrap();
    flash.image()
}

/// Opens `image` and uses what opened: loads, a save, a removal.
fn exercise(image: Vec<u8>) {
    let flash = SimFlash::from_image(image);
    let Ok(mut s) = FlashStorage::open(flash) else { return };
    let Ok(keys) = s.keys() else { return };
    for k in &keys {
        let _ = s.load(k);
    }
    let _ = s.save("kv.b", &[5; 1200]);
    let _ = s.save("kv.c", b"x");
    for k in &keys {
        let _ = s.remove(k);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A valid image with bytes changed.
    #[test]
    fn mutated_images(flips in prop::collection::vec((0..4 * PAGE, any::<u8>()), 1..40)) {
        let mut image = valid_image();
        for (at, b) in flips {
            image[at] = b;
        }
        exercise(image);
    }

    /// Pages of noise, erased pages and valid pages mixed.
    #[test]
    fn mixed_pages(kinds in prop::collection::vec(0..3u8, 4), seed in any::<u32>()) {
        let valid = valid_image();
        let mut x = seed | 1;
        let mut image = Vec::new();
        for (p, k) in kinds.into_iter().enumerate() {
            match k {
                0 => image.extend(std::iter::repeat_n(0xff, PAGE)),
                1 => image.extend_from_slice(&valid[p * PAGE..(p + 1) * PAGE]),
                _ => image.extend((0..PAGE).map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })),
            }
        }
        exercise(image);
    }
}
