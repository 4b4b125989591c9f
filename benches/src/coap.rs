//! The helper-heavy kernel: `apps/c/coap_sensor.c` (the rBPF paper's
//! Listing 1) reads the first sensor and answers a CoAP request with its
//! value as text. 35 instructions, 7 helper calls: the run is dominated by
//! the helpers (the real ones, `alkyl_bindings::AlkylHelpers`, over a
//! `SimPlatform` with one scripted temperature sensor).
//!
//! Contenders: Alkyl (both engines) on the packed container, and a native
//! baseline that makes the same seven helper calls, with the same
//! arguments, from Rust over the same regions: what is left of a run
//! without the VM. Excluded, and why: rbpf (its helpers receive raw host
//! pointers into the script's stack and context; the SAUL and gcoap
//! helpers here check every pointer against a `MemoryMap`, so an rbpf
//! version would be a different, unchecked helper set rather than a
//! comparison), wasmi and wasm3 (the script would need a Wasm build
//! against host-function imports implementing the same SAUL and gcoap
//! calls; that port is not written).

use alkyl_bindings::generated as g;
use alkyl_bindings::{AlkylHelpers, CoapSession, Phydat, SimPlatform, ALL_HELPERS, COAP_CTX_VADDR, COAP_PKT_VADDR};
use alkyl_vm::container::Script;
use alkyl_vm::fast::{self, Op};
use alkyl_vm::{Entry, Executable, Helpers, Invocation, MemoryMap, Runnable, STACK_SIZE, STACK_VADDR};

use crate::kernels::pack_once;

/// The kernel's name in results.json.
pub const NAME: &str = "coap_sensor";
/// Contenders this kernel runs on.
pub const CONTENDERS: &[&str] = &["native", "alkyl", "alkyl_ref"];
/// Contenders it does not run on, with the reason (see the module docs).
pub const EXCLUDED: &[(&str, &str)] = &[
    ("rbpf", "rbpf helpers take raw host pointers; the SAUL/gcoap helpers check every pointer against a MemoryMap"),
    ("rbpf_jit", "as rbpf"),
    ("wasmi", "needs a Wasm build of the script against SAUL/gcoap host-function imports (not written)"),
    ("wasm3", "as wasmi"),
];

/// The clang BPF object of `apps/c/coap_sensor.c`.
pub static OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/coap_sensor.bpf.o"));

/// The response every run must produce: an ACK 2.05 with the request's
/// message id and token, Content-Format text/plain, payload "21.50".
pub const EXPECTED_PAYLOAD: &[u8] = b"21.50";

/// A CON GET request (message id 0x1234, token ab cd) in a 128-byte buffer.
fn request() -> [u8; 128] {
    let mut packet = [0u8; 128];
    packet[..6].copy_from_slice(&[0x42, 0x01, 0x12, 0x34, 0xab, 0xcd]);
    packet
}

/// The platform: one temperature sensor reading 21.50 °C.
fn platform() -> SimPlatform {
    let mut p = SimPlatform::new();
    let temp = Phydat { val: [2150, 0, 0], unit: 2, scale: -2 };
    // A fresh platform has room for a device.
    let _ = p.add_sensor(0x82, 1, &[temp]);
    p
}

/// Which engine runs the script (or none: the native baseline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Native,
    Reference,
    Fast,
}

impl Engine {
    /// The engine of contender `name`.
    pub fn of(name: &str) -> Option<Engine> {
        match name {
            "native" => Some(Engine::Native),
            "alkyl_ref" => Some(Engine::Reference),
            "alkyl" => Some(Engine::Fast),
            _ => None,
        }
    }
}

/// The kernel loaded for one engine: the container, its entry point and
/// (fast engine) its translation, and the platform the runs share.
pub struct CoapBench {
    engine: Engine,
    script: Script<&'static [u8]>,
    entry: Entry,
    executable: Executable<'static, 'static>,
    platform: SimPlatform,
}

impl CoapBench {
    /// Packs (once per process) and loads the kernel for `engine`.
    ///
    /// # Errors
    /// The packer's, loader's or translator's rejection, as text.
    pub fn new(engine: Engine) -> Result<Self, String> {
        let script = Script::load(pack_once(NAME, OBJECT)?, &ALL_HELPERS).map_err(|e| e.to_string())?;
        let entry = script.entry(b"coap_resp").ok_or("coap_sensor: no entry point coap_resp")?;
        let executable = match engine {
            Engine::Fast => {
                let ops: &'static mut [Op] =
                    Box::leak(vec![Op::EMPTY; fast::storage_len(&script.program())].into_boxed_slice());
                Executable::Fast(fast::translate(&script.borrowed_program(), ops).map_err(|e| e.to_string())?)
            }
            _ => Executable::Reference(script.borrowed_program()),
        };
        Ok(CoapBench { engine, script, entry, executable, platform: platform() })
    }

    /// Answers one request, the way a device does per event (fresh stack,
    /// context and packet buffer, regions mapped, helpers bound to this
    /// exchange); returns the response message.
    ///
    /// # Errors
    /// A trap, or a response other than the expected one, as text.
    pub fn run(&mut self) -> Result<Vec<u8>, String> {
        let mut stack = [0u8; STACK_SIZE];
        let mut packet = request();
        let session = CoapSession::new(7, COAP_PKT_VADDR, packet.len());
        let ctx = session.context_bytes();
        let mut data = [0u8; 0];
        let mut helpers = AlkylHelpers::new(&mut self.platform, 0).with_coap(session);
        let len = {
            let e = |e: alkyl_vm::MapError| e.to_string();
            let mut run = Invocation::new(&mut stack, &[]).map_err(e)?;
            run.context(COAP_CTX_VADDR, &ctx).map_err(e)?.region(COAP_PKT_VADDR, &mut packet).map_err(e)?;
            run.script(&self.script, &mut data).map_err(e)?;
            let helpers = &mut self.script.restrict(&mut helpers);
            let budget = crate::contenders::BUDGET;
            match self.engine {
                Engine::Native => native(run.memory_mut(), helpers).map_err(|e| format!("native: {e}"))?,
                _ => self.executable.run(self.entry, &mut run, helpers, budget).map_err(|t| t.to_string())?.r0,
            }
        };
        let message = packet.get(..len as usize).ok_or(format!("response length {len}"))?.to_vec();
        check(&message)?;
        Ok(message)
    }
}

/// The native baseline: the script's seven helper calls, same ids and
/// arguments (`llvm-objdump -d` of the object), from Rust.
fn native<H: Helpers + ?Sized>(mem: &mut MemoryMap<'_>, h: &mut H) -> Result<u64, alkyl_vm::HelperError> {
    let ctx = COAP_CTX_VADDR;
    // phydat_t m at [r10 - 8]
    let m = STACK_VADDR + STACK_SIZE as u64 - 8;
    let sens = h.call(g::ALKYL_HELPER_SAUL_REG_FIND_NTH, [0, 0, 0, 0, 0], mem)?;
    if sens == 0 || (h.call(g::ALKYL_HELPER_SAUL_REG_READ, [sens, m, 0, 0, 0], mem)? as i32) < 0 {
        return Ok(160);
    }
    h.call(g::ALKYL_HELPER_GCOAP_RESP_INIT, [ctx, g::ALKYL_COAP_CODE_CONTENT as u64, 0, 0, 0], mem)?;
    h.call(g::ALKYL_HELPER_COAP_ADD_FORMAT, [ctx, g::ALKYL_COAP_FORMAT_TEXT as u64, 0, 0, 0], mem)?;
    let pdu_len =
        h.call(g::ALKYL_HELPER_COAP_OPT_FINISH, [ctx, g::ALKYL_COAP_OPT_FINISH_PAYLOAD as u64, 0, 0, 0], mem)?;
    let payload = h.call(g::ALKYL_HELPER_COAP_GET_PDU, [ctx, 0, 0, 0, 0], mem)?;
    let phydat = mem.read(m, 8)?;
    let val = i16::from_le_bytes([phydat[0], phydat[1]]) as i64 as u64;
    let scale = (phydat[7] as i8 as i64).wrapping_neg() as u64;
    let n = h.call(g::ALKYL_HELPER_FMT_S16_DFP, [payload, val, scale, 0, 0], mem)?;
    Ok(pdu_len.wrapping_add(n))
}

/// Checks a response message: ACK 2.05, message id 0x1234, token ab cd,
/// Content-Format 0 (text/plain), payload "21.50".
fn check(msg: &[u8]) -> Result<(), String> {
    let want_head = [0x62, 0x45, 0x12, 0x34, 0xab, 0xcd];
    // Content-Format 0 is an option of length 0: delta 12, then the marker.
    let want = [&want_head[..], &[0xc0, 0xff], EXPECTED_PAYLOAD].concat();
    if msg != want {
        return Err(format!("coap_sensor answered {msg:02x?}, expected {want:02x?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_answers_the_request() {
        for name in CONTENDERS {
            let engine = Engine::of(name).unwrap();
            let mut bench = CoapBench::new(engine).unwrap_or_else(|e| panic!("{name}: {e}"));
            for _ in 0..3 {
                bench.run().unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
    }
}
