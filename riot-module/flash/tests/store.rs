//! The flash store over the simulated NOR flash: records of every size,
//! replacement, removal, reopening, a full store, a power cut at every
//! flash operation, wear, and hostile images.

use alkyl_flash::sim::{SimFlash, PAGE};
use alkyl_flash::{FlashStorage, OpenError};
use alkyl_runtime::{Storage, StorageError};

fn open(flash: &SimFlash) -> FlashStorage<SimFlash> {
    FlashStorage::open(flash.clone()).unwrap()
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

#[test]
fn records_of_every_size() {
    let flash = SimFlash::new(16);
    let mut s = open(&flash);
    assert_eq!(s.load("app.a").unwrap(), None);
    let sizes = [0, 1, 3, 999, 1000, 1001, 2048, 5000, 9001];
    for (i, &n) in sizes.iter().enumerate() {
        s.save(&format!("app.r{n}"), &bytes(n, i as u8)).unwrap();
    }
    for reopen in [false, true] {
        if reopen {
            s = open(&flash);
        }
        let mut keys = s.keys().unwrap();
        keys.sort();
        assert_eq!(keys.len(), sizes.len());
        for (i, &n) in sizes.iter().enumerate() {
            assert_eq!(s.load(&format!("app.r{n}")).unwrap(), Some(bytes(n, i as u8)), "{n} {reopen}");
        }
    }
    // Replace big by small, small by big, remove.
    s.save("app.r9001", b"small").unwrap();
    s.save("app.r1", &bytes(4000, 9)).unwrap();
    s.remove("app.r5000").unwrap();
    s.remove("app.none").unwrap();
    let used = s.used();
    let mut s = open(&flash);
    assert_eq!(s.used(), used, "the accounting survives a reopen");
    assert_eq!(s.load("app.r9001").unwrap().as_deref(), Some(&b"small"[..]));
    assert_eq!(s.load("app.r1").unwrap(), Some(bytes(4000, 9)));
    assert_eq!(s.load("app.r5000").unwrap(), None);
    assert!(!s.keys().unwrap().contains(&"app.r5000".to_string()));
    // Keys too long for an item are refused.
    assert_eq!(s.save(&"k".repeat(41), b"x"), Err(StorageError::Io));
    assert_eq!(flash.violations(), 0);
}
type Step<'a> = &'a dyn Fn(&mut FlashStorage<SimFlash>) -> Result<(), StorageError>;

/// The images a step starts from: an app of several chunks, a small KV
/// namespace, the sequences record; then the first image, after more
/// KV updates fill the log, from which the step erases a page (so that
/// cuts also land in the moving of live items and in erases); for a step
/// that never erases (a removal only marks items), two images of a fuller
/// log.
fn starts(step: Step<'_>, erases: bool) -> Vec<Vec<u8>> {
    let flash = SimFlash::new(6);
    let mut s = open(&flash);
    s.save("app.old", &bytes(3000, 1)).unwrap();
    s.save("kv.old", &bytes(40, 2)).unwrap();
    s.save("sequences", &bytes(24, 3)).unwrap();
    let mut images = vec![flash.image()];
    let mut last = 0;
    for churn in 1..1000 {
        s.save("kv.churn", &bytes(200, churn as u8)).unwrap();
        let erased = if erases {
            let trial = SimFlash::from_image(flash.image());
            step(&mut open(&trial)).unwrap();
            trial.erase_counts().iter().sum::<u32>() > 0
        } else {
            churn % 20 == 0
        };
        if erased && (last == 0 || churn > last + 10) {
            images.push(flash.image());
            last = churn;
            if images.len() == 2 {
                return images;
            }
        }
    }
    panic!("the step never erases a page");
}

type Records = Vec<(String, Vec<u8>)>;

fn contents(s: &mut FlashStorage<SimFlash>) -> Records {
    let mut keys = s.keys().unwrap();
    keys.sort();
    keys.into_iter().map(|k| (k.clone(), s.load(&k).unwrap().unwrap())).collect()
}

/// Runs `step` with the power cut at each of its flash operations in turn
/// (and once without a cut); after each cut the reopened store holds
/// exactly the contents before the step or after it, and takes writes.
fn every_cut(name: &str, step: Step<'_>) {
    every_cut_from(name, step, true);
}

fn every_cut_from(name: &str, step: Step<'_>, erases: bool) {
    for (start, image) in starts(step, erases).into_iter().enumerate() {
        let flash = SimFlash::from_image(image.clone());
        let before = contents(&mut open(&flash));
        let after = {
            let flash = SimFlash::from_image(flash.image());
            let mut s = open(&flash);
            step(&mut s).unwrap();
            contents(&mut open(&flash))
        };
        assert_ne!(before, after, "{name}: the step changes something");
        let mut cut = 0;
        loop {
            let flash = SimFlash::from_image(image.clone());
            let mut s = open(&flash);
            flash.cut_at(cut, cut as u32 * 7919 + start as u32);
            let result = step(&mut s);
            if !flash.is_off() {
                result.unwrap();
                break;
            }
            // Power back.
            let flash = SimFlash::from_image(flash.image());
            let mut s = FlashStorage::open(flash.clone()).unwrap_or_else(|e| panic!("{name} cut {cut}: {e}"));
            let now = contents(&mut s);
            assert!(now == before || now == after, "{name}, start {start}, cut at op {cut}: a mix");
            if result.is_ok() {
                assert_eq!(now, after, "{name}, cut {cut}: an acknowledged write was lost");
            }
            // The store goes on working, garbage gone.
            s.save("kv.after", b"ok").unwrap();
            assert_eq!(s.load("kv.after").unwrap().as_deref(), Some(&b"ok"[..]));
            assert_eq!(flash.violations(), 0, "{name} cut {cut}");
            cut += 1;
        }
        assert!(cut > 0, "{name}: the step writes");
    }
}

/// One test per step, each cut at every operation (`every_cut`).
macro_rules! power_cut_tests {
    ($($test:ident: $name:literal, $step:expr;)*) => {$(
        #[test]
        fn $test() {
            every_cut($name, &$step);
        }
    )*};
}

power_cut_tests! {
    power_cut_install: "install", |s| s.save("app.new", &bytes(5000, 9));
    power_cut_replace: "replace", |s| s.save("app.old", &bytes(4100, 8));
    power_cut_retired_in_reserve: "retired", |s| s.save_reserved("retired", &bytes(1200, 7));
    power_cut_kv_update: "kv update", |s| s.save("kv.old", &bytes(44, 6));
    power_cut_sequence_bump: "sequence bump", |s| s.save("sequences", &bytes(24, 5));
}

#[test]
fn power_cut_delete() {
    // One removal of a chunked record (the runtime's whole deletion, three
    // writes whose every prefix boot resolves, is in tests/runtime.rs).
    every_cut_from("delete", &|s| s.remove("app.old"), false);
}

/// Acknowledged KV writes survive: a run of updates cut at every operation
/// keeps the last acknowledged value or the one in flight.
#[test]
fn acknowledged_writes_survive() {
    let mut cut = 0;
    loop {
        let flash = SimFlash::new(4);
        let mut s = open(&flash);
        flash.cut_at(cut, cut as u32 + 1);
        let mut acked = None;
        let mut inflight = None;
        for i in 0..60u8 {
            let v = bytes(150 + i as usize, i);
            inflight = Some(v.clone());
            if s.save("kv.x", &v).is_err() {
                break;
            }
            acked = inflight.take();
        }
        if !flash.is_off() {
            break;
        }
        let mut s = open(&SimFlash::from_image(flash.image()));
        let now = s.load("kv.x").unwrap();
        assert!(now == acked || (now.is_some() && now == inflight), "cut {cut}");
        cut += 1;
    }
    assert!(cut > 100, "{cut} cuts");
}

#[test]
fn full_store() {
    let flash = SimFlash::new(4);
    let mut s = open(&flash);
    let mut n = 0;
    let err = loop {
        match s.save(&format!("app.a{n}"), &bytes(2500, n as u8)) {
            Ok(()) => n += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(err, StorageError::Full);
    assert!(n >= 2, "{n} apps");
    let before = contents(&mut s);
    // Refused writes change nothing, in RAM or in flash.
    assert_eq!(s.save("app.a0", &bytes(9000, 0)), Err(StorageError::Full));
    assert_eq!(s.save("kv.big", &bytes(3000, 0)), Err(StorageError::Full));
    assert_eq!(contents(&mut s), before);
    assert_eq!(contents(&mut open(&flash)), before);
    // The reserve takes a deletion's retired table; the removals free room.
    s.save_reserved("retired", &bytes(1500, 1)).unwrap();
    for i in 0..n {
        s.remove(&format!("app.a{i}")).unwrap();
    }
    s.save("app.again", &bytes(2500, 3)).unwrap();
    let mut s = open(&flash);
    assert_eq!(s.keys().unwrap().len(), 2);
    assert_eq!(s.load("app.again").unwrap(), Some(bytes(2500, 3)));
    assert_eq!(flash.violations(), 0);
}

/// 10,000 updates of one KV namespace: every page is erased, and about as
/// often as the others.
#[test]
fn wear_is_spread() {
    let flash = SimFlash::new(16);
    let mut s = open(&flash);
    s.save("app.a", &bytes(6000, 1)).unwrap();
    s.save("app.b", &bytes(3000, 2)).unwrap();
    for i in 0..10_000u32 {
        let mut v = bytes(64, i as u8);
        v[..4].copy_from_slice(&i.to_le_bytes());
        s.save("kv.a", &v).unwrap();
    }
    let counts = flash.erase_counts();
    let (min, max) = (*counts.iter().min().unwrap(), *counts.iter().max().unwrap());
    let total: u32 = counts.iter().sum();
    println!("erases per page after 10,000 KV updates (16 x 4 KiB): {counts:?}, total {total}, min {min}, max {max}");
    assert!(min > 0, "{counts:?}");
    assert!(max - min <= 1 + max / 10, "{counts:?}");
    let mut s = open(&flash);
    assert_eq!(s.load("app.a").unwrap(), Some(bytes(6000, 1)));
    assert_eq!(s.load("kv.a").unwrap().unwrap()[..4], 9_999u32.to_le_bytes());
    assert_eq!(flash.violations(), 0);
}

#[test]
fn geometry_and_blank() {
    assert_eq!(FlashStorage::open(SimFlash::new(3)).err(), Some(OpenError::Geometry));
    let flash = SimFlash::new(4);
    assert!(open(&flash).keys().unwrap().is_empty());
    let mut noise = SimFlash::new(4).image();
    for (i, b) in noise.iter_mut().enumerate() {
        *b = (i * 7 % 251) as u8;
    }
    let garbage = SimFlash::from_image(noise);
    // Noise opens as an error or as records that read back as errors.
    if let Ok(mut s) = FlashStorage::open(garbage.clone()) {
        for k in s.keys().unwrap() {
            let _ = s.load(&k);
        }
    }
    let mut s = FlashStorage::format(garbage).unwrap();
    assert!(s.keys().unwrap().is_empty());
    s.save("kv.a", b"1").unwrap();
    let _ = PAGE;
}
