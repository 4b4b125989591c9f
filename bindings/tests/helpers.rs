//! Every helper, called as the VM calls it: with the script's registers and
//! its MemoryMap. Bad pointers must trap (`HelperError::Memory`), never
//! reach host memory; recoverable conditions are negative return values.

use alkyl_bindings::generated::*;

use alkyl_bindings::{AlkylHelpers, CoapSession, KvScope, Phydat, Platform, SimPlatform, ALL_HELPERS, COAP_PKT_VADDR};
use alkyl_vm::memory::FaultKind;
use alkyl_vm::{
    AccessPolicy, HelperError, HelperSet, Helpers, MemoryMap, MemoryTable, DATA_VADDR, INPUT_VADDR, RODATA_VADDR,
};

const RO: u64 = RODATA_VADDR;
const RW: u64 = DATA_VADDR;

/// Calls helper `id` with a read-only region holding `ro` and a 64-byte
/// read-write region; returns the result and the read-write bytes.
fn call(p: &mut SimPlatform, id: u32, ro: &[u8], args: [u64; 5]) -> (Result<u64, HelperError>, [u8; 64]) {
    let mut rw = [0u8; 64];
    let r = {
        let mut mem = MemoryMap::new();
        mem.map_read_only(RO, ro).unwrap();
        mem.map(RW, &mut rw, AccessPolicy::ReadWrite).unwrap();
        AlkylHelpers::new(p, 1).call(id, args, &mut mem)
    };
    (r, rw)
}

fn ok(r: Result<u64, HelperError>) -> i64 {
    r.unwrap() as i64
}

fn fault(r: Result<u64, HelperError>) -> FaultKind {
    match r {
        Err(HelperError::Memory(f)) => f.kind,
        other => panic!("expected a memory trap, got {other:?}"),
    }
}

fn printf(fmt: &str, args: [u64; 4]) -> String {
    let mut p = SimPlatform::new();
    // "str" first (at RO), then the format (at RO + 4).
    let mut ro = b"str\0".to_vec();
    ro.extend_from_slice(fmt.as_bytes());
    ro.push(0);
    let (r, _) = call(&mut p, ALKYL_HELPER_PRINTF, &ro, [RO + 4, args[0], args[1], args[2], args[3]]);
    let out = String::from_utf8(p.log_bytes().to_vec()).unwrap();
    assert_eq!(ok(r) as usize, out.len());
    out
}

#[test]
fn printf_formats_like_c() {
    let s = RO; // "str"
    assert_eq!(printf("%d %u %x", [-5i64 as u64, 42, 255, 0]), "-5 42 ff");
    assert_eq!(printf("[%5d|%-5d|%05d]", [42, 42, -42i64 as u64, 0]), "[   42|42   |-0042]");
    assert_eq!(
        printf("%lu %ld %X", [u64::MAX, i64::MIN as u64, 0xabc, 0]),
        "18446744073709551615 -9223372036854775808 ABC"
    );
    assert_eq!(printf("%u", [u64::MAX, 0, 0, 0]), "4294967295", "no `l`: 32 bits");
    assert_eq!(printf("%hhd %hd", [0x1ff, 0x18000, 0, 0]), "-1 -32768");
    assert_eq!(printf("%c%c %% %#x %#o", [b'o' as u64, b'k' as u64, 16, 8]), "ok % 0x10 010");
    assert_eq!(printf("%.3d %+d % d", [7, 3, 4, 0]), "007 +3  4");
    assert_eq!(printf("%p", [RO, 0, 0, 0]), "0x400000000");
    assert_eq!(printf("%s", [s, 0, 0, 0]).len(), 3);
    assert_eq!(printf("<%s>", [s + 1, 0, 0, 0]), "<tr>");
    assert_eq!(printf("%.2s|%6s|%-6s|", [s, s, s, 0]), "st|   str|str   |");
    assert_eq!(printf("%*d|%-*d|", [4, 1, 3, 2]), "   1|2  |");
    assert_eq!(printf("%q %", [0, 0, 0, 0]), "%q %");
}

#[test]
fn printf_is_bounded() {
    let long = "x".repeat(1000);
    let out = printf(&long, [0; 4]);
    assert_eq!(out.len(), 256);
    assert_eq!(printf("%999d", [1, 0, 0, 0]).len(), 256);
}

#[test]
fn printf_bad_pointers_trap() {
    let mut p = SimPlatform::new();
    assert_eq!(fault(call(&mut p, ALKYL_HELPER_PRINTF, b"ok\0", [0, 0, 0, 0, 0]).0), FaultKind::Unmapped);
    // A format with no NUL before the region ends.
    assert_eq!(fault(call(&mut p, ALKYL_HELPER_PRINTF, b"abc", [RO, 0, 0, 0, 0]).0), FaultKind::OutOfBounds);
    // A %s argument pointing nowhere.
    assert_eq!(fault(call(&mut p, ALKYL_HELPER_PRINTF, b"%s\0", [RO, 0x77_0000_0000, 0, 0, 0]).0), FaultKind::Unmapped);
    assert!(p.log_bytes().is_empty(), "nothing is logged from a trapped call");
}

#[test]
fn memcpy_checks_both_ranges_and_handles_overlap() {
    let mut p = SimPlatform::new();
    let src: Vec<u8> = (0..40).collect();
    let (r, rw) = call(&mut p, ALKYL_HELPER_MEMCPY, &src, [RW + 4, RO, 40, 0, 0]);
    assert_eq!(ok(r) as u64, RW + 4, "returns dest");
    assert_eq!(rw[4..44], src[..]);
    // Into read-only memory, or past a region's end: traps before copying.
    assert_eq!(fault(call(&mut p, ALKYL_HELPER_MEMCPY, &src, [RO, RW, 4, 0, 0]).0), FaultKind::PolicyDenied);
    let (r, rw) = call(&mut p, ALKYL_HELPER_MEMCPY, &src, [RW, RO, 41, 0, 0]);
    assert_eq!(fault(r), FaultKind::OutOfBounds);
    assert!(rw.iter().all(|&b| b == 0));
    assert_eq!(fault(call(&mut p, ALKYL_HELPER_MEMCPY, &src, [RW + 60, RO, 8, 0, 0]).0), FaultKind::OutOfBounds);

    // Overlapping moves inside one region, both directions (memmove).
    let mut buf: Vec<u8> = (0..200).map(|i| i as u8).collect();
    for (dest, src) in [(10u64, 0u64), (0, 10), (3, 130)] {
        let mut expect = buf.clone();
        expect.copy_within(src as usize..src as usize + 70, dest as usize);
        let mut mem = MemoryMap::new();
        mem.map(INPUT_VADDR, &mut buf, AccessPolicy::ReadWrite).unwrap();
        AlkylHelpers::new(&mut p, 0)
            .call(ALKYL_HELPER_MEMCPY, [INPUT_VADDR + dest, INPUT_VADDR + src, 70, 0, 0], &mut mem)
            .unwrap();
        assert_eq!(buf, expect, "dest {dest} src {src}");
    }
}

#[test]
fn key_value_store() {
    let mut p = SimPlatform::new();
    // An absent key reads as 0 (Femto-Container semantics).
    let (r, rw) = call(&mut p, ALKYL_HELPER_FETCH_LOCAL, &[], [9, RW + 8, 0, 0, 0]);
    assert_eq!((ok(r), &rw[8..12]), (0, &[0u8; 4][..]));
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_STORE_LOCAL, &[], [9, 0xdead_beef, 0, 0, 0]).0), 0);
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_STORE_GLOBAL, &[], [9, 5, 0, 0, 0]).0), 0);
    let (_, rw) = call(&mut p, ALKYL_HELPER_FETCH_LOCAL, &[], [9, RW, 0, 0, 0]);
    assert_eq!(rw[..4], 0xdead_beefu32.to_le_bytes());
    let (_, rw) = call(&mut p, ALKYL_HELPER_FETCH_GLOBAL, &[], [9, RW, 0, 0, 0]);
    assert_eq!(rw[..4], 5u32.to_le_bytes());
    // The local namespace is the app's (AlkylHelpers::new(_, 1)).
    assert_eq!(p.kv_fetch(KvScope::Local(1), 9), Some(0xdead_beef));
    assert_eq!(p.kv_fetch(KvScope::Local(2), 9), None);
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_DELETE_LOCAL, &[], [9, 0, 0, 0, 0]).0), 0);
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_DELETE_LOCAL, &[], [9, 0, 0, 0, 0]).0), ALKYL_ENOENT as i64);
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_DELETE_GLOBAL, &[], [9, 0, 0, 0, 0]).0), 0);
    // Full store: a negative value, not a trap; updating an existing key works.
    p.set_kv_limit(1);
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_STORE_GLOBAL, &[], [1, 1, 0, 0, 0]).0), 0);
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_STORE_GLOBAL, &[], [2, 1, 0, 0, 0]).0), ALKYL_ENOSPC as i64);
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_STORE_GLOBAL, &[], [1, 2, 0, 0, 0]).0), 0);
    // Fetching into read-only or unmapped memory traps.
    assert_eq!(fault(call(&mut p, ALKYL_HELPER_FETCH_GLOBAL, &[0; 8], [1, RO, 0, 0, 0]).0), FaultKind::PolicyDenied);
    assert_eq!(fault(call(&mut p, ALKYL_HELPER_FETCH_GLOBAL, &[], [1, RW + 62, 0, 0, 0]).0), FaultKind::OutOfBounds);
}

#[test]
fn sensors_and_actuators() {
    let mut p = SimPlatform::new();
    let v = |x| Phydat { val: [x, -1, 2], unit: 2, scale: -2 };
    let temp = p.add_sensor(ALKYL_SAUL_SENSE_TEMP as u8, 3, &[v(10), v(20)]).unwrap();
    let led = p.add_actuator(ALKYL_SAUL_ACT_LED_RGB as u8).unwrap();
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_SAUL_REG_FIND_NTH, &[], [0, 0, 0, 0, 0]).0), temp.get() as i64);
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_SAUL_REG_FIND_NTH, &[], [1, 0, 0, 0, 0]).0), led.get() as i64);
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_SAUL_REG_FIND_NTH, &[], [2, 0, 0, 0, 0]).0), 0, "not found");
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_SAUL_REG_FIND_NTH, &[], [-1i64 as u64, 0, 0, 0, 0]).0), 0);
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_SAUL_REG_FIND_TYPE, &[], [0x82, 0, 0, 0, 0]).0), temp.get() as i64);
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_SAUL_REG_FIND_TYPE, &[], [0x40, 0, 0, 0, 0]).0), led.get() as i64);
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_SAUL_REG_FIND_TYPE, &[], [0x83, 0, 0, 0, 0]).0), 0);

    let (r, rw) = call(&mut p, ALKYL_HELPER_SAUL_REG_READ, &[], [temp.get() as u64, RW + 16, 0, 0, 0]);
    assert_eq!(ok(r), 3, "dimensions");
    assert_eq!(rw[16..24], [10, 0, 0xff, 0xff, 2, 0, 2, 0xfe]);
    let (_, rw) = call(&mut p, ALKYL_HELPER_SAUL_REG_READ, &[], [temp.get() as u64, RW, 0, 0, 0]);
    assert_eq!(rw[0], 20, "the scripted sequence advances");
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_SAUL_REG_READ, &[], [99, RW, 0, 0, 0]).0), ALKYL_ENODEV as i64);
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_SAUL_REG_READ, &[], [0, RW, 0, 0, 0]).0), ALKYL_ENODEV as i64);
    assert_eq!(fault(call(&mut p, ALKYL_HELPER_SAUL_REG_READ, &[0; 8], [1, RO, 0, 0, 0]).0), FaultKind::PolicyDenied);
    assert_eq!(fault(call(&mut p, ALKYL_HELPER_SAUL_REG_READ, &[], [1, RW + 60, 0, 0, 0]).0), FaultKind::OutOfBounds);

    let value = [0x34, 0x12, 0, 0, 0, 0, 1, 0];
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_SAUL_REG_WRITE, &value, [led.get() as u64, RO, 0, 0, 0]).0), 1);
    assert_eq!(p.actuator_state(led).unwrap(), (Phydat { val: [0x1234, 0, 0], unit: 1, scale: 0 }, 1));
    assert_eq!(
        ok(call(&mut p, ALKYL_HELPER_SAUL_REG_WRITE_VALUE, &[], [led.get() as u64, -7i64 as u64, 0, 0, 0]).0),
        1
    );
    assert_eq!(p.actuator_state(led).unwrap(), (Phydat { val: [-7, 0, 0], unit: 0, scale: 0 }, 2));
    assert_eq!(
        ok(call(&mut p, ALKYL_HELPER_SAUL_REG_WRITE_VALUE, &[], [led.get() as u64, 40_000, 0, 0, 0]).0),
        ALKYL_ERANGE as i64
    );
    assert_eq!(
        ok(call(&mut p, ALKYL_HELPER_SAUL_REG_WRITE_VALUE, &[], [temp.get() as u64, 1, 0, 0, 0]).0),
        ALKYL_ENOTSUP as i64
    );
    assert_eq!(
        fault(call(&mut p, ALKYL_HELPER_SAUL_REG_WRITE, &[0; 4], [led.get() as u64, RO, 0, 0, 0]).0),
        FaultKind::OutOfBounds
    );
}

#[test]
fn clocks() {
    let mut p = SimPlatform::new();
    p.advance_ms(1500);
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_NOW_MS, &[], [0; 5]).0), 1500);
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_ZTIMER_NOW, &[], [0; 5]).0), 1_500_000);
    // periodic_wakeup(&last, 1000): last = 1_500_000 -> waits until 1_501_000.
    let mut rw = 1_500_000u32.to_le_bytes();
    {
        let mut mem = MemoryMap::new();
        mem.map(RW, &mut rw, AccessPolicy::ReadWrite).unwrap();
        let mut h = AlkylHelpers::new(&mut p, 0);
        assert_eq!(h.call(ALKYL_HELPER_ZTIMER_PERIODIC_WAKEUP, [RW, 1000, 0, 0, 0], &mut mem).unwrap(), 0);
    }
    assert_eq!(u32::from_le_bytes(rw), 1_501_000);
    assert_eq!(p.now_us(), 1_501_000);
    // A deadline in the past does not wait.
    assert_eq!(
        fault(call(&mut p, ALKYL_HELPER_ZTIMER_PERIODIC_WAKEUP, &[0; 4], [RO, 10, 0, 0, 0]).0),
        FaultKind::PolicyDenied
    );
    assert_eq!(p.now_us(), 1_501_000);
}

#[test]
fn number_formatting() {
    let mut p = SimPlatform::new();
    let (r, rw) = call(&mut p, ALKYL_HELPER_FMT_S16_DFP, &[], [RW + 2, -2345i64 as u64, 2, 0, 0]);
    assert_eq!(ok(r), 6);
    assert_eq!(&rw[..9], b"\0\0-23.45\0");
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_FMT_S16_DFP, &[], [0, 123, -2i64 as u64, 0, 0]).0), 5, "NULL: length only");
    assert_eq!(ok(call(&mut p, ALKYL_HELPER_FMT_S16_DFP, &[], [RW, 1, 9, 0, 0]).0), ALKYL_EINVAL as i64);
    let (r, rw) = call(&mut p, ALKYL_HELPER_FMT_U32_DEC, &[], [RW, 4_000_000_000, 0, 0, 0]);
    assert_eq!((ok(r), &rw[..10]), (10, &b"4000000000"[..]));
    assert_eq!(
        fault(call(&mut p, ALKYL_HELPER_FMT_U32_DEC, &[], [RW + 60, 123456, 0, 0, 0]).0),
        FaultKind::OutOfBounds
    );
}

/// `packet` read-write at `COAP_PKT_VADDR`, a session's context read-only
/// at `RO`.
fn coap_memory<'m>(packet: &'m mut [u8], ctx: &'m [u8]) -> MemoryTable<'m> {
    let mut mem = MemoryMap::new();
    mem.map(COAP_PKT_VADDR, packet, AccessPolicy::ReadWrite).unwrap();
    mem.map_read_only(RO, ctx).unwrap();
    mem
}

#[test]
fn coap_response_building() {
    let mut p = SimPlatform::new();
    let mut packet = [0u8; 16];
    packet[..5].copy_from_slice(&[0x51, 0x01, 0xbe, 0xef, 0x77]); // NON GET, token 77
    let session = CoapSession::new(3, COAP_PKT_VADDR, packet.len());
    let ctx = session.context_bytes();
    let mut bad_ctx = ctx;
    bad_ctx[0] = 4;
    let mut h = AlkylHelpers::new(&mut p, 0).with_coap(session);
    let mut mem = coap_memory(&mut packet, &ctx);
    mem.map_read_only(INPUT_VADDR, &bad_ctx).unwrap();
    let mut c = |id, a: u64, b: u64| h.call(id, [a, b, 0, 0, 0], &mut mem).map(|v| v as i64);
    // Nothing before resp_init; a wrong handle is refused.
    assert_eq!(c(ALKYL_HELPER_COAP_OPT_FINISH, RO, 1).unwrap(), ALKYL_EINVAL as i64);
    assert_eq!(c(ALKYL_HELPER_GCOAP_RESP_INIT, INPUT_VADDR, 0x45).unwrap(), ALKYL_EINVAL as i64);
    assert!(matches!(c(ALKYL_HELPER_GCOAP_RESP_INIT, 0, 0x45), Err(HelperError::Memory(_))));
    assert_eq!(c(ALKYL_HELPER_GCOAP_RESP_INIT, RO, 0x84).unwrap(), 0);
    assert_eq!(c(ALKYL_HELPER_COAP_ADD_FORMAT, RO, 60).unwrap(), 2, "delta 12, one byte of value");
    assert_eq!(c(ALKYL_HELPER_COAP_ADD_FORMAT, RO, 0).unwrap(), 1, "repeated option: delta 0");
    assert_eq!(c(ALKYL_HELPER_COAP_ADD_FORMAT, RO, 70_000).unwrap(), ALKYL_EINVAL as i64);
    assert_eq!(c(ALKYL_HELPER_COAP_OPT_FINISH, RO, 1).unwrap(), 9);
    assert_eq!(c(ALKYL_HELPER_COAP_GET_PDU, RO, 0).unwrap() as u64, COAP_PKT_VADDR + 9);
    assert_eq!(c(ALKYL_HELPER_COAP_ADD_FORMAT, RO, 0).unwrap(), ALKYL_EINVAL as i64, "options are finished");
    assert_eq!(packet[..9], [0x51, 0x84, 0xbe, 0xef, 0x77, 0xc1, 60, 0x00, 0xff]);
    let r = h.coap().unwrap().response().unwrap();
    assert_eq!((r.code, r.payload_offset), (0x84, 9));
}

#[test]
fn coap_buffer_full_and_bad_requests() {
    let mut p = SimPlatform::new();
    let mut packet = [0x40, 0x01, 0, 0, 0];
    let session = CoapSession::new(1, COAP_PKT_VADDR, packet.len());
    let ctx = session.context_bytes();
    let mut h = AlkylHelpers::new(&mut p, 0).with_coap(session);
    let mut mem = coap_memory(&mut packet, &ctx);
    let mut c = |id, a: u64, b: u64| h.call(id, [a, b, 0, 0, 0], &mut mem).unwrap() as i64;
    assert_eq!(c(ALKYL_HELPER_GCOAP_RESP_INIT, RO, 0x45), 0);
    assert_eq!(c(ALKYL_HELPER_COAP_ADD_FORMAT, RO, 300), ALKYL_ENOSPC as i64);
    assert_eq!(c(ALKYL_HELPER_COAP_OPT_FINISH, RO, 1), 5);
    assert_eq!(c(ALKYL_HELPER_COAP_OPT_FINISH, RO, 1), ALKYL_EINVAL as i64);
    // A buffer that holds no CoAP request.
    let mut junk = [0xffu8; 8];
    let session = CoapSession::new(1, COAP_PKT_VADDR, junk.len());
    let ctx = session.context_bytes();
    let mut h = AlkylHelpers::new(&mut p, 0).with_coap(session);
    let mut mem = coap_memory(&mut junk, &ctx);
    assert_eq!(
        h.call(ALKYL_HELPER_GCOAP_RESP_INIT, [RO, 0x45, 0, 0, 0], &mut mem).unwrap() as i64,
        ALKYL_EBADMSG as i64
    );
}

#[test]
fn every_declared_helper_is_implemented() {
    let mut sorted = ALL_HELPERS;
    sorted.sort_unstable();
    assert_eq!(sorted, ALL_HELPERS, "ascending, for binary search");
    let mut p = SimPlatform::new();
    let h = AlkylHelpers::new(&mut p, 0);
    for id in 0..0x100u32 {
        let listed = <[u32]>::contains(&ALL_HELPERS, &id);
        assert_eq!(h.contains(id), listed, "{id:#x}");
    }
    for id in ALL_HELPERS {
        let (r, _) = call(&mut p, id, &[0; 32], [RW, RW, 0, 0, 0]);
        assert!(!matches!(r, Err(HelperError::Unknown(_))), "{id:#x} is not dispatched");
    }
    let (r, _) = call(&mut p, 0x99, &[], [0; 5]);
    assert_eq!(r, Err(HelperError::Unknown(0x99)));
}

#[test]
fn wall_clock_and_reports() {
    // Unset: ENODATA, nothing written (never 1970).
    let mut p = SimPlatform::new();
    let (r, rw) = call(&mut p, ALKYL_HELPER_UNIX_TIME, &[], [RW, 0, 0, 0, 0]);
    assert_eq!(ok(r), ALKYL_ENODATA as i64);
    assert_eq!(rw[..4], [0; 4]);
    // Set: Unix seconds, advancing with the clock.
    p.set_unix_ms(1_700_000_000_999);
    p.advance_ms(2_000);
    let (r, rw) = call(&mut p, ALKYL_HELPER_UNIX_TIME, &[], [RW, 0, 0, 0, 0]);
    assert_eq!(ok(r), 0);
    assert_eq!(u32::from_le_bytes(rw[..4].try_into().unwrap()), 1_700_000_002);
    // The destination is checked first.
    assert_eq!(fault(call(&mut p, ALKYL_HELPER_UNIX_TIME, &[0; 4], [RO, 0, 0, 0, 0]).0), FaultKind::PolicyDenied);
    // Reports: a platform without them says so; too long is EINVAL, a bad
    // buffer traps.
    let (r, _) = call(&mut p, ALKYL_HELPER_REPORT, b"alarm", [RO, 5, 0, 0, 0]);
    assert_eq!(ok(r), ALKYL_ENOTSUP as i64);
    let (r, _) = call(&mut p, ALKYL_HELPER_REPORT, b"alarm", [RO, ALKYL_REPORT_MAX as u64 + 1, 0, 0, 0]);
    assert_eq!(ok(r), ALKYL_EINVAL as i64);
    assert!(matches!(call(&mut p, ALKYL_HELPER_REPORT, b"alarm", [RO, 6, 0, 0, 0]).0, Err(HelperError::Memory(_))));
    assert!([ALKYL_HELPER_UNIX_TIME, ALKYL_HELPER_REPORT].iter().all(|&id| ALL_HELPERS.contains(id)));
}
