//! Running a script: the one place every run goes through (CoAP requests,
//! timers, sensor events). A run uses the app's [`alkyl_vm::Runnable`]:
//! with feature `fast` (default) the fast engine on the ops translated at
//! install; without, the compact reference interpreter.
//!
//! Regions and registers follow `alkyl_vm::invoke`'s convention
//! (`docs/isa.md`, "Invocation"): stack (`max(512, declared)` bytes), the
//! input read-only (`r1`/`r2`), `.data`, `.rodata`; for CoAP runs the
//! packet buffer and the context by the convention the script declares
//! (`alkyl_bindings::CoapRegions`, `docs/helpers.md`): Alkyl's (packet at
//! `COAP_PKT_VADDR`, the `alkyl_coap_ctx_t` at `COAP_CTX_VADDR` in `r3`,
//! the payload in `r1`/`r2`) or Femto-Container's (the packet holding the
//! payload at address 0, RIOT's `coap_pkt_t` prefix at `COAP_PKT_VADDR`,
//! the `bpf_coap_ctx_t` in `r1`).

use alloc::vec;
use alloc::vec::Vec;

use alkyl_bindings::helpers::coap::content_format;
use alkyl_bindings::{AlkylHelpers, CoapRegions, CoapSession, Platform};
use alkyl_vm::container::Script;
use alkyl_vm::{Entry, Exit, Invocation, MapError, Runnable, Trap, TrapKind};

use crate::app::{BuiltResponse, Loaded};
use crate::config::Config;

/// The request header a CoAP run's packet buffer starts with: version 1,
/// CON, no token, POST, message id 0. `gcoap_resp_init` turns it into the
/// response header; the runtime sends the code, options and payload the
/// script built through the real exchange.
const REQUEST_HEADER: [u8; 4] = [0x40, 0x02, 0x00, 0x00];

/// One run to do.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunRequest<'i> {
    pub entry: Entry,
    /// Mapped read-only at `INPUT_VADDR`; `r1`/`r2`.
    pub input: &'i [u8],
    /// A CoAP packet buffer of this size (and the context in `r3`), or none.
    pub coap_buffer: Option<usize>,
    pub budget: u64,
}

/// The buffers every run uses, owned by the runtime and kept between runs:
/// the stack (as large as the largest stack a run declared) and the CoAP
/// packet buffer (sized by its [`Config`]). Each run zeroes the part it
/// maps, so no run sees another's bytes.
#[derive(Debug)]
pub(crate) struct RunBuffers {
    stack: Vec<u8>,
    packet: Vec<u8>,
}

impl RunBuffers {
    /// No stack yet (it grows to the largest stack a run has mapped, see
    /// [`RunBuffers::stack`]) and a packet buffer of
    /// `config.coap_buffer_len`.
    pub fn new(config: &Config) -> RunBuffers {
        RunBuffers { stack: Vec::new(), packet: vec![0; config.coap_buffer_len] }
    }

    /// Where the stack lives (tests: it is allocated once).
    #[cfg(test)]
    pub fn stack_ptr(&self) -> *const u8 {
        self.stack.as_ptr()
    }
}

/// Slots of a run's region table: segments 0 up to the CoAP context's
/// (the stack, the input, `.data`, `.rodata`, the CoAP packet buffer and
/// context, segment 0 for Femto-Container's packet); the runtime maps
/// nothing above it.
const RUN_SLOTS: usize = (alkyl_bindings::COAP_CTX_VADDR >> 32) as usize + 1;
const _: () = assert!(alkyl_bindings::COAP_PKT_VADDR < alkyl_bindings::COAP_CTX_VADDR);

/// A zeroed stack of exactly `len` bytes, the size a script declares
/// (`Script::stack_size`, at most 512), mapped as the run's stack region.
/// `buffer` grows at the first run that needs that much and is kept: a
/// device whose apps declare 64 bytes holds 64, not 512.
fn zeroed_stack(buffer: &mut Vec<u8>, len: usize) -> &mut [u8] {
    if buffer.len() < len {
        buffer.resize(len, 0);
    }
    let stack = &mut buffer[..len];
    stack.fill(0);
    stack
}

/// What a run did.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub result: Result<Exit, Trap>,
    /// The CoAP response the script built, if any.
    pub response: Option<BuiltResponse>,
}

/// Runs `loaded` from `inv.entry` with `data` as its `.data` region, the
/// run's stack and packet buffer from `buffers`, the real helpers over
/// `platform`. Never panics; a fault is a [`Trap`] (a stack or packet
/// buffer larger than `buffers` holds, which the app limits exclude,
/// included).
pub(crate) fn execute<P: Platform + ?Sized>(
    loaded: &Loaded,
    data: &mut [u8],
    inv: RunRequest<'_>,
    buffers: &mut RunBuffers,
    platform: &mut P,
) -> Outcome {
    let script = loaded.script();
    let Some(packet) = buffers.packet.get_mut(..inv.coap_buffer.unwrap_or(0)) else {
        return Outcome {
            result: Err(Trap { pc: inv.entry.pc(), kind: TrapKind::IllegalInstruction }),
            response: None,
        };
    };
    packet.fill(0);
    let stack = zeroed_stack(&mut buffers.stack, script.stack_size());
    let mut coap = inv.coap_buffer.map(|_| CoapRegions::new(script.convention(), packet, &REQUEST_HEADER, inv.input));
    let mut helpers = AlkylHelpers::new(platform, 0);
    if let Some(c) = &coap {
        helpers = helpers.with_coap(c.session());
    }
    let result = match regions(stack, inv.input, script, data, coap.as_mut().map(|c| (c, &mut packet[..]))) {
        Ok(mut run) => loaded.executable().run(inv.entry, &mut run, &mut script.restrict(&mut helpers), inv.budget),
        // Distinct segments into an empty map: cannot fail; kept as a trap.
        Err(_) => Err(Trap { pc: inv.entry.pc(), kind: TrapKind::IllegalInstruction }),
    };
    let response = match (&result, helpers.coap().and_then(CoapSession::response)) {
        (Ok(exit), Some(r)) => Some(built_response(packet, r.code, r.payload_offset, exit.r0)),
        _ => None,
    };
    Outcome { result, response }
}

/// The invocation of a run: stack, input, the script's regions and, for a
/// CoAP run, the packet buffer and the context by its convention.
fn regions<'m>(
    stack: &'m mut [u8],
    input: &'m [u8],
    script: &'m Script<Vec<u8>>,
    data: &'m mut [u8],
    coap: Option<(&'m mut CoapRegions, &'m mut [u8])>,
) -> Result<Invocation<'m, RUN_SLOTS>, MapError> {
    let mut run = Invocation::sized(stack, input)?;
    run.script(script, data)?;
    if let Some((regions, packet)) = coap {
        regions.map(&mut run, packet)?;
    }
    Ok(run)
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
