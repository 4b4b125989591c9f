//! Running a script: the one place every run goes through (CoAP requests,
//! timers, sensor events). With feature `fast` (default) a run uses the
//! fast engine on the ops translated at install; without, the compact
//! reference interpreter (`alkyl_vm::run`). Both give the same results and
//! faults; they differ only in where a budget trap lands (`docs/isa.md`).
//!
//! Regions, as `alkyl run` maps them (`docs/helpers.md`):
//! stack at segment 1 (`max(512, declared)` bytes), the input **read-only**
//! at segment 2 (address in `r1`, length in `r2`), `.data` at 3, `.rodata`
//! at 4; for CoAP runs the packet buffer at 5 (read-write) and the
//! `alkyl_coap_ctx_t` at 6 (read-only, address in `r3`).

use alloc::vec;

use alkyl_bindings::helpers::coap::content_format;
use alkyl_bindings::{AlkylHelpers, CoapSession, Platform, COAP_CTX_VADDR, COAP_PKT_VADDR};
use alkyl_vm::{AccessPolicy, Entry, Exit, MemoryMap, Trap, TrapKind, INPUT_VADDR, STACK_SIZE, STACK_VADDR};

use crate::app::{BuiltResponse, Loaded};

/// The request header a CoAP run's packet buffer starts with: version 1,
/// CON, no token, POST, message id 0. `gcoap_resp_init` turns it into the
/// response header; the runtime sends the code, options and payload the
/// script built through the real exchange.
const REQUEST_HEADER: [u8; 4] = [0x40, 0x02, 0x00, 0x00];
/// The opaque handle scripts find in their CoAP context.
const COAP_HANDLE: u64 = 1;

/// One run to do.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Invocation<'i> {
    pub entry: Entry,
    /// Mapped read-only at `INPUT_VADDR`; `r1`/`r2`.
    pub input: &'i [u8],
    /// A CoAP packet buffer of this size (and the context in `r3`), or none.
    pub coap_buffer: Option<usize>,
    pub budget: u64,
}

/// What a run did.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub result: Result<Exit, Trap>,
    /// The CoAP response the script built, if any.
    pub response: Option<BuiltResponse>,
}

/// Runs `loaded` from `inv.entry` with `data` as its `.data` region, the
/// real helpers over `platform`. Never panics; a fault is a [`Trap`].
pub(crate) fn execute<P: Platform + ?Sized>(
    loaded: &Loaded<'_>,
    data: &mut [u8],
    inv: Invocation<'_>,
    platform: &mut P,
) -> Outcome {
    let script = &loaded.script;
    let mut stack = vec![0u8; script.stack_size().max(STACK_SIZE)];
    let mut packet = vec![0u8; inv.coap_buffer.unwrap_or(0)];
    let session = CoapSession::new(COAP_HANDLE, COAP_PKT_VADDR, packet.len());
    let ctx = session.context_bytes();
    let mut helpers = AlkylHelpers::new(platform, 0);
    let mut args = vec![INPUT_VADDR, inv.input.len() as u64];
    if inv.coap_buffer.is_some() {
        let n = REQUEST_HEADER.len().min(packet.len());
        packet[..n].copy_from_slice(&REQUEST_HEADER[..n]);
        helpers = helpers.with_coap(session);
        args.push(COAP_CTX_VADDR);
    }
    let result = {
        let mut mem = MemoryMap::new();
        let mapped = mem
            .map(STACK_VADDR, &mut stack, AccessPolicy::ReadWrite)
            .and_then(|()| mem.map_read_only(INPUT_VADDR, inv.input))
            .and_then(|()| script.map(&mut mem, data))
            .and_then(|()| match inv.coap_buffer {
                Some(_) => mem
                    .map(COAP_PKT_VADDR, &mut packet, AccessPolicy::ReadWrite)
                    .and_then(|()| mem.map_read_only(COAP_CTX_VADDR, &ctx)),
                None => Ok(()),
            });
        match mapped {
            #[cfg(feature = "fast")]
            Ok(()) => alkyl_vm::fast::run_fast(
                &loaded.fast,
                inv.entry,
                &args,
                &mut mem,
                &mut script.restrict(&mut helpers),
                inv.budget,
            ),
            #[cfg(not(feature = "fast"))]
            Ok(()) => alkyl_vm::run(
                script.program(),
                inv.entry,
                &args,
                &mut mem,
                &mut script.restrict(&mut helpers),
                inv.budget,
            ),
            // Distinct segments into an empty map: cannot fail; kept as a trap.
            Err(_) => Err(Trap { pc: inv.entry.pc(), kind: TrapKind::IllegalInstruction }),
        }
    };
    let response = match (&result, helpers.coap().and_then(CoapSession::response)) {
        (Ok(exit), Some(r)) => Some(built_response(&packet, r.code, r.payload_offset, exit.r0)),
        _ => None,
    };
    Outcome { result, response }
}

/// The response in `packet`: options from after the header to the payload
/// marker, payload from `payload_offset` to the length the script returned.
fn built_response(packet: &[u8], code: u8, payload_offset: usize, r0: u64) -> BuiltResponse {
    let end = usize::try_from(r0).unwrap_or(usize::MAX).clamp(payload_offset.min(packet.len()), packet.len());
    let start = payload_offset.min(end);
    let options_end = payload_offset.min(packet.len());
    let content_format = content_format(packet.get(REQUEST_HEADER.len()..options_end).unwrap_or(&[]));
    BuiltResponse { code, content_format, payload: packet[start..end].to_vec() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_response_bounds() {
        let mut p = [0u8; 16];
        p[..4].copy_from_slice(&[0x60, 0x45, 0, 0]);
        p[4] = 0xc1; // Content-Format 50
        p[5] = 50;
        p[6] = 0xff;
        p[7..10].copy_from_slice(b"abc");
        let r = built_response(&p, 0x45, 7, 10);
        assert_eq!(r, BuiltResponse { code: 0x45, content_format: Some(50), payload: b"abc".to_vec() });
        // r0 below the payload start, or beyond the buffer, is clamped.
        assert_eq!(built_response(&p, 0x45, 7, 3).payload, b"");
        assert_eq!(built_response(&p, 0x45, 7, u64::MAX).payload.len(), 9);
        assert_eq!(built_response(&p, 0x45, 99, 5).payload, b"");
    }
}
