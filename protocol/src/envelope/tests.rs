//! Envelope: parse/emit round trips, every rule, hostile bytes.

use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::name::{AppName, NameError};

/// A payload standing for a container (the envelope does not look inside).
fn simple_container() -> Vec<u8> {
    (0..120u32).map(|i| (i * 7 % 11) as u8).collect()
}

fn install_of(name: &str, version: u32, payload: Vec<u8>, compressed: bool) -> EnvelopeRepr {
    let r = EnvelopeRepr::install(AppName::new(name.as_bytes()).unwrap(), version, PayloadKind::Container, payload);
    if compressed {
        r.compress().unwrap()
    } else {
        r
    }
}

fn install_envelope(name: &str, version: u32) -> EnvelopeRepr {
    install_of(name, version, simple_container(), false)
}

fn command(op: Operation, name: &str, version: u32, triggers: Vec<TriggerRepr>) -> EnvelopeRepr {
    EnvelopeRepr::command(op, AppName::new(name.as_bytes()).unwrap(), version, triggers)
}

fn triggers() -> Vec<TriggerRepr> {
    vec![
        TriggerRepr { kind: TriggerKind::Timer, sensor: 0, period_ms: 1000, value: 0, entry: Some("answer".into()) },
        TriggerRepr { kind: TriggerKind::Rising, sensor: 0, period_ms: 100, value: 2200, entry: None },
        TriggerRepr { kind: TriggerKind::Falling, sensor: 3, period_ms: 100, value: -5, entry: None },
        TriggerRepr { kind: TriggerKind::Delta, sensor: 1, period_ms: 250, value: 50, entry: Some("twice".into()) },
    ]
}

fn sample() -> EnvelopeRepr {
    let mut r = install_of("counter", 3, simple_container(), true);
    r.triggers = triggers();
    r.signature = [0xab; SIGNATURE_LEN];
    r
}

fn err(bytes: &[u8]) -> EnvelopeError {
    Envelope::new_checked(bytes).unwrap_err()
}

#[test]
fn round_trips() {
    for repr in [
        sample(),
        install_envelope("a", 1),
        command(Operation::Delete, "x", 9, vec![]),
        command(Operation::SetTriggers, "x", 10, triggers()),
        command(Operation::SetTriggers, "x", 11, vec![]),
    ] {
        let bytes = repr.to_bytes().unwrap();
        assert_eq!(bytes.len(), repr.buffer_len());
        let view = Envelope::new_checked(&bytes[..]).unwrap();
        assert_eq!(view.signed_bytes().len(), repr.signed_len());
        assert_eq!(EnvelopeRepr::parse(&view).unwrap(), repr);
        assert_eq!(EnvelopeRepr::parse(&view).unwrap().to_bytes().unwrap(), bytes);
    }
}

#[test]
fn layout_is_as_documented() {
    let r = sample();
    let b = r.to_bytes().unwrap();
    assert_eq!(&b[0..4], b"ALKE");
    assert_eq!(b[4], 1);
    assert_eq!(b[5], 1); // install
    assert_eq!(b[6], 1); // container
    assert_eq!(b[7], FLAG_COMPRESSED);
    assert_eq!(u32::from_le_bytes(b[8..12].try_into().unwrap()), 3);
    assert_eq!(u32::from_le_bytes(b[12..16].try_into().unwrap()), r.raw_len);
    assert_eq!(u32::from_le_bytes(b[16..20].try_into().unwrap()) as usize, r.payload.len());
    assert_eq!(b[20], 7);
    assert_eq!(b[21], 4);
    assert_eq!(&b[22..24], &[0, 0]);
    assert_eq!(&b[32..39], b"counter");
    // First trigger: timer, sensor 0, entry "answer" (6), period 1000.
    assert_eq!(&b[39..43], &[1, 0, 6, 0]);
    assert_eq!(u32::from_le_bytes(b[43..47].try_into().unwrap()), 1000);
    assert_eq!(&b[51..57], b"answer");
    assert_eq!(&b[b.len() - 64..], &[0xab; 64]);
}

#[test]
fn every_truncation_is_refused() {
    let b = sample().to_bytes().unwrap();
    for n in 0..b.len() {
        let e = err(&b[..n]);
        assert!(
            matches!(e.kind, EnvelopeErrorKind::Truncated { .. } | EnvelopeErrorKind::TriggerEntry { .. }),
            "{n}: {e}"
        );
    }
    let mut long = b.clone();
    long.push(0);
    assert_eq!(err(&long).kind, EnvelopeErrorKind::TrailingBytes { len: 1 });
}

#[test]
fn header_rules() {
    let good = sample().to_bytes().unwrap();
    let with = |at: usize, v: u8| {
        let mut b = good.clone();
        b[at] = v;
        b
    };
    assert_eq!(err(&with(0, b'X')), EnvelopeError { offset: 0, kind: EnvelopeErrorKind::BadMagic });
    assert_eq!(err(&with(4, 2)).kind, EnvelopeErrorKind::UnknownFormat { format: 2 });
    assert_eq!(err(&with(5, 0)).kind, EnvelopeErrorKind::UnknownOperation { operation: 0 });
    assert_eq!(err(&with(5, 4)).kind, EnvelopeErrorKind::UnknownOperation { operation: 4 });
    assert_eq!(err(&with(6, 3)).kind, EnvelopeErrorKind::UnknownPayloadKind { kind: 3 });
    assert_eq!(err(&with(7, 0x05)).kind, EnvelopeErrorKind::UnknownFlags { flags: 0x05 });
    assert_eq!(err(&with(22, 1)).kind, EnvelopeErrorKind::ReservedNotZero);
    assert_eq!(err(&with(32, b'/')).kind, EnvelopeErrorKind::Name(NameError::Char { index: 0 }));
    assert_eq!(err(&with(20, 0)).kind, EnvelopeErrorKind::Name(NameError::Length { len: 0, max: 32 }));
    assert_eq!(err(&with(21, 9)).kind, EnvelopeErrorKind::TooManyTriggers { count: 9 });
    // Payload length beyond the buffer, even near u32::MAX.
    let mut b = good.clone();
    b[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(err(&b).kind, EnvelopeErrorKind::Truncated { .. }));
}

#[test]
fn trigger_rules() {
    let good = sample().to_bytes().unwrap();
    let t0 = 32 + 7; // first trigger record
    let with = |at: usize, v: u8| {
        let mut b = good.clone();
        b[at] = v;
        b
    };
    assert_eq!(err(&with(t0, 9)).kind, EnvelopeErrorKind::TriggerKind { index: 0, kind: 9 });
    assert_eq!(err(&with(t0 + 1, 1)).kind, EnvelopeErrorKind::TriggerSensor { index: 0 });
    assert_eq!(err(&with(t0 + 3, 1)).kind, EnvelopeErrorKind::TriggerReserved { index: 0 });
    assert_eq!(err(&with(t0 + 8, 1)).kind, EnvelopeErrorKind::TriggerValue { index: 0 });
    assert!(matches!(err(&with(t0 + 12, b'9')).kind, EnvelopeErrorKind::TriggerEntry { index: 0, .. }));
    let mut b = good.clone();
    b[t0 + 4..t0 + 8].fill(0);
    assert_eq!(err(&b).kind, EnvelopeErrorKind::TriggerPeriod { index: 0 });
    // A delta must be positive.
    let mut r = sample();
    r.triggers[3].value = 0;
    assert_eq!(r.to_bytes().unwrap_err().kind, EnvelopeErrorKind::TriggerValue { index: 3 });
}

#[test]
fn operation_shapes() {
    let mut r = install_envelope("a", 1);
    r.payload.clear();
    r.raw_len = 0;
    assert_eq!(r.to_bytes().unwrap_err().kind, EnvelopeErrorKind::Shape(ShapeError::InstallWithoutPayload));
    let mut r = install_envelope("a", 1);
    r.kind = PayloadKind::None;
    assert_eq!(r.to_bytes().unwrap_err().kind, EnvelopeErrorKind::Shape(ShapeError::InstallWithoutPayload));
    let mut r = command(Operation::Delete, "a", 1, vec![]);
    r.payload = vec![1];
    r.raw_len = 1;
    assert_eq!(r.to_bytes().unwrap_err().kind, EnvelopeErrorKind::Shape(ShapeError::CommandWithPayload));
    let mut r = command(Operation::SetTriggers, "a", 1, vec![]);
    r.compressed = true;
    assert_eq!(r.to_bytes().unwrap_err().kind, EnvelopeErrorKind::Shape(ShapeError::CommandWithPayload));
    let r = command(Operation::Delete, "a", 1, triggers());
    assert_eq!(r.to_bytes().unwrap_err().kind, EnvelopeErrorKind::Shape(ShapeError::DeleteWithTriggers));
    let mut r = install_envelope("a", 1);
    r.raw_len += 1;
    assert!(matches!(r.to_bytes().unwrap_err().kind, EnvelopeErrorKind::RawLength { .. }));
    // Alkyl IR is a known kind (refused later as unsupported, not as malformed).
    let mut r = install_envelope("a", 1);
    r.kind = PayloadKind::AlkylIr;
    r.to_bytes().unwrap();
}

#[test]
fn emit_checks_the_buffer_size() {
    let r = sample();
    let mut small = Envelope::new_unchecked(vec![0u8; r.buffer_len() - 1]);
    assert!(matches!(r.emit(&mut small).unwrap_err().kind, EnvelopeErrorKind::Truncated { .. }));
    let mut big = Envelope::new_unchecked(vec![0u8; r.buffer_len() + 1]);
    assert!(matches!(r.emit(&mut big).unwrap_err().kind, EnvelopeErrorKind::TrailingBytes { .. }));
    let mut many = sample();
    many.triggers = vec![many.triggers[0].clone(); MAX_TRIGGERS + 1];
    assert!(many.to_bytes().is_err());
}

#[test]
fn hostile_bytes_never_panic() {
    let good = sample().to_bytes().unwrap();
    let mut x = 0x9e37_79b9u32;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for _ in 0..20_000 {
        let mut b = good.clone();
        for _ in 0..(rnd() % 4 + 1) {
            let i = rnd() as usize % b.len();
            b[i] = rnd() as u8;
        }
        b.truncate(rnd() as usize % (good.len() + 1));
        let view = Envelope::new_unchecked(&b[..]);
        // Accessors of unchecked views are total.
        let _ = (view.operation(), view.version(), view.name(), view.payload(), view.signature(), view.key_id());
        let _ = view.triggers().count();
        if let Ok(v) = Envelope::new_checked(&b[..]) {
            let r = EnvelopeRepr::parse(&v).unwrap();
            assert_eq!(r.to_bytes().unwrap(), b);
        }
    }
}

#[test]
fn signed_bytes_name_the_key() {
    let r = install_envelope("a", 1);
    let public = [3u8; 32];
    let bytes = r
        .to_signed_bytes(&public, |m| {
            let mut sig = [0u8; SIGNATURE_LEN];
            sig[0] = m.len() as u8;
            sig
        })
        .unwrap();
    let view = Envelope::new_checked(&bytes[..]).unwrap();
    assert_eq!(view.key_id(), crate::KeyId::of(&public));
    assert_eq!(view.signature()[0], view.signed_bytes().len() as u8);
    assert_eq!(view.signed_bytes(), &bytes[..r.signed_len()]);
}

#[test]
fn checked_views_borrow_their_triggers() {
    let b = sample().to_bytes().unwrap();
    let view = Envelope::new_checked(&b[..]).unwrap();
    let t: Vec<Trigger<'_>> = view.triggers().collect();
    assert_eq!(t.len(), 4);
    assert_eq!(t[0].entry, Some("answer"));
    assert_eq!(t.iter().map(Trigger::to_repr).collect::<Vec<_>>(), triggers());
}

#[test]
fn trigger_syntax() {
    for t in triggers() {
        let text = alloc::format!("{t}");
        assert_eq!(text.parse::<TriggerRepr>().unwrap(), t, "{text}");
    }
    assert_eq!("timer:500".parse::<TriggerRepr>().unwrap().period_ms, 500);
    for bad in ["", "timer", "timer:0", "timer:x", "rising:0:1", "delta:0:0:10", "bogus:1", "timer:5@9x", "timer:5:6"] {
        assert!(bad.parse::<TriggerRepr>().is_err(), "{bad}");
    }
}

#[test]
fn open_entries() {
    let mut r = sample();
    assert!(Envelope::new_checked(&r.to_bytes().unwrap()[..]).unwrap().open_entries().is_none());
    r.open = Some(vec!["answer".into(), OPEN_DEFAULT.into(), OPEN_ALL.into()]);
    let bytes = r.to_bytes().unwrap();
    let env = Envelope::new_checked(&bytes[..]).unwrap();
    let names: Vec<&[u8]> = env.open_entries().unwrap().collect();
    assert_eq!(names, [&b"answer"[..], b"", b"*"]);
    assert_eq!(EnvelopeRepr::parse(&env).unwrap(), r);
    assert_eq!(env.payload(), &r.payload[..]);
    // An empty declaration: every entry protected, but declared.
    r.open = Some(vec![]);
    let bytes = r.to_bytes().unwrap();
    assert_eq!(Envelope::new_checked(&bytes[..]).unwrap().open_entries().unwrap().count(), 0);
    // Bad names, too many, on a command.
    for open in [vec!["9x".into()], vec!["**".into()], (0..=MAX_OPEN).map(|_| "a".into()).collect()] {
        r.open = Some(open);
        assert_eq!(r.to_bytes().unwrap_err().kind, EnvelopeErrorKind::OpenEntries);
    }
    let mut c = command(Operation::SetTriggers, "x", 10, vec![]);
    c.open = Some(vec![]);
    assert_eq!(c.to_bytes().unwrap_err().kind, EnvelopeErrorKind::OpenEntries);
}
