//! The helpers, implemented once over a [`Platform`].
//!
//! Every pointer argument is checked against the script's regions, length
//! included, before it is used: a bad pointer is a
//! [`HelperError::Memory`] trap, never a host access. Recoverable
//! conditions (no such sensor, store full, bad handle) are negative
//! `ALKYL_E*` return values.

pub mod coap;
pub mod fmt;
pub mod printf;

use alkyl_vm::{HelperError, HelperSet, Helpers, MemoryMap};

use crate::generated as g;
use crate::platform::{phydat_from_bytes, phydat_to_bytes, DeviceHandle, KvScope, Platform, PHYDAT_SIZE};
use coap::CoapSession;

/// Every helper id this crate implements, ascending.
pub const ALL_HELPERS: [u32; 24] = [
    g::ALKYL_HELPER_PRINTF,
    g::ALKYL_HELPER_MEMCPY,
    g::ALKYL_HELPER_STORE_LOCAL,
    g::ALKYL_HELPER_STORE_GLOBAL,
    g::ALKYL_HELPER_FETCH_LOCAL,
    g::ALKYL_HELPER_FETCH_GLOBAL,
    g::ALKYL_HELPER_DELETE_LOCAL,
    g::ALKYL_HELPER_DELETE_GLOBAL,
    g::ALKYL_HELPER_NOW_MS,
    g::ALKYL_HELPER_UNIX_TIME,
    g::ALKYL_HELPER_REPORT,
    g::ALKYL_HELPER_SAUL_REG_FIND_NTH,
    g::ALKYL_HELPER_SAUL_REG_FIND_TYPE,
    g::ALKYL_HELPER_SAUL_REG_READ,
    g::ALKYL_HELPER_SAUL_REG_WRITE,
    g::ALKYL_HELPER_SAUL_REG_WRITE_VALUE,
    g::ALKYL_HELPER_GCOAP_RESP_INIT,
    g::ALKYL_HELPER_COAP_OPT_FINISH,
    g::ALKYL_HELPER_COAP_ADD_FORMAT,
    g::ALKYL_HELPER_COAP_GET_PDU,
    g::ALKYL_HELPER_FMT_S16_DFP,
    g::ALKYL_HELPER_FMT_U32_DEC,
    g::ALKYL_HELPER_ZTIMER_NOW,
    g::ALKYL_HELPER_ZTIMER_PERIODIC_WAKEUP,
];

/// Bytes `memcpy` moves per step (through a stack buffer).
const COPY_CHUNK: usize = 64;

/// The helper environment of one run: the platform, the running app's
/// identity (its local key-value namespace) and the CoAP exchange, if the
/// run answers one. Pass it (through `Script::restrict`) to `alkyl_vm::run`.
#[derive(Debug)]
pub struct AlkylHelpers<'p, P: ?Sized> {
    platform: &'p mut P,
    app: u32,
    coap: Option<CoapSession>,
}

impl<'p, P: Platform + ?Sized> AlkylHelpers<'p, P> {
    /// Helpers for app number `app` (the runtime's numbering; it selects
    /// the local key-value namespace).
    pub fn new(platform: &'p mut P, app: u32) -> Self {
        AlkylHelpers { platform, app, coap: None }
    }

    /// Attaches the CoAP exchange this run answers.
    pub fn with_coap(mut self, session: CoapSession) -> Self {
        self.coap = Some(session);
        self
    }

    /// The CoAP exchange, with the response state the script left.
    pub fn coap(&self) -> Option<&CoapSession> {
        self.coap.as_ref()
    }

    /// The platform.
    pub fn platform(&mut self) -> &mut P {
        self.platform
    }

    fn kv_scope(&self, id: u32) -> KvScope {
        match id {
            g::ALKYL_HELPER_STORE_LOCAL | g::ALKYL_HELPER_FETCH_LOCAL | g::ALKYL_HELPER_DELETE_LOCAL => {
                KvScope::Local(self.app)
            }
            _ => KvScope::Global,
        }
    }

    fn coap_session(&mut self) -> Option<&mut CoapSession> {
        self.coap.as_mut()
    }
}

impl<P: Platform + ?Sized> HelperSet for AlkylHelpers<'_, P> {
    fn contains(&self, id: u32) -> bool {
        ALL_HELPERS.binary_search(&id).is_ok()
    }
}

/// A negative `ALKYL_E*` code as the 64-bit `r0` the script sees.
fn ret(code: i32) -> u64 {
    code as i64 as u64
}

impl<P: Platform + ?Sized> Helpers for AlkylHelpers<'_, P> {
    fn call(&mut self, id: u32, a: [u64; 5], mem: &mut MemoryMap<'_>) -> Result<u64, HelperError> {
        let key = a[0] as u32;
        Ok(match id {
            g::ALKYL_HELPER_PRINTF => {
                let out = printf::format(mem, a[0], &a[1..])?;
                self.platform.log(out.as_bytes());
                out.as_bytes().len() as u64
            }
            g::ALKYL_HELPER_MEMCPY => {
                memmove(mem, a[0], a[1], a[2])?;
                a[0]
            }
            g::ALKYL_HELPER_STORE_LOCAL | g::ALKYL_HELPER_STORE_GLOBAL => {
                match self.platform.kv_store(self.kv_scope(id), key, a[1] as u32) {
                    Ok(()) => 0,
                    Err(_) => ret(g::ALKYL_ENOSPC),
                }
            }
            g::ALKYL_HELPER_FETCH_LOCAL | g::ALKYL_HELPER_FETCH_GLOBAL => {
                // Check the destination before touching the store.
                mem.write(a[1], 4)?;
                let v = self.platform.kv_fetch(self.kv_scope(id), key).unwrap_or(0);
                mem.store::<4>(a[1], v as u64)?;
                0
            }
            g::ALKYL_HELPER_DELETE_LOCAL | g::ALKYL_HELPER_DELETE_GLOBAL => {
                if self.platform.kv_delete(self.kv_scope(id), key) {
                    0
                } else {
                    ret(g::ALKYL_ENOENT)
                }
            }
            g::ALKYL_HELPER_NOW_MS => self.platform.now_ms() as u32 as u64,
            g::ALKYL_HELPER_UNIX_TIME => {
                mem.write(a[0], 4)?;
                match self.platform.unix_time_ms() {
                    Some(ms) => {
                        mem.store::<4>(a[0], (ms / 1000) as u32 as u64)?;
                        0
                    }
                    None => ret(g::ALKYL_ENODATA),
                }
            }
            g::ALKYL_HELPER_REPORT => {
                if a[1] > g::ALKYL_REPORT_MAX as u64 {
                    return Ok(ret(g::ALKYL_EINVAL));
                }
                let payload = mem.read(a[0], a[1])?;
                match self.platform.report(payload) {
                    Ok(()) => 0,
                    Err(e) => ret(e.code()),
                }
            }
            g::ALKYL_HELPER_ZTIMER_NOW => self.platform.now_us() as u32 as u64,
            g::ALKYL_HELPER_ZTIMER_PERIODIC_WAKEUP => {
                let last = mem.load::<4>(a[0])? as u32;
                mem.write(a[0], 4)?;
                let target = last.wrapping_add(a[1] as u32);
                let now = self.platform.now_us();
                let ahead = target.wrapping_sub(now as u32) as i32;
                if ahead > 0 {
                    self.platform.sleep_until_us(now + ahead as u64);
                }
                // Waiting counts against the run's wall-time limit.
                if self.platform.overdue() {
                    return Err(HelperError::Aborted);
                }
                mem.store::<4>(a[0], target as u64)?;
                0
            }
            g::ALKYL_HELPER_SAUL_REG_FIND_NTH => match i32::try_from(a[0] as i64) {
                Ok(pos) if pos >= 0 => self.platform.saul_find_nth(pos as u32).map_or(0, |d| d.get() as u64),
                _ => 0,
            },
            g::ALKYL_HELPER_SAUL_REG_FIND_TYPE => {
                self.platform.saul_find_type(a[0] as u8).map_or(0, |d| d.get() as u64)
            }
            g::ALKYL_HELPER_SAUL_REG_READ => {
                mem.write(a[1], PHYDAT_SIZE as u64)?;
                let Some(dev) = DeviceHandle::from_arg(a[0]) else { return Ok(ret(g::ALKYL_ENODEV)) };
                match self.platform.saul_read(dev) {
                    Ok((value, dims)) => {
                        mem.write(a[1], PHYDAT_SIZE as u64)?.copy_from_slice(&phydat_to_bytes(&value));
                        dims as u64
                    }
                    Err(e) => ret(e.code()),
                }
            }
            g::ALKYL_HELPER_SAUL_REG_WRITE => {
                let raw: &[u8; PHYDAT_SIZE] = mem
                    .read(a[1], PHYDAT_SIZE as u64)?
                    .try_into()
                    .map_err(|_| HelperError::BadArgument { index: 1 })?;
                let value = phydat_from_bytes(raw);
                self.saul_write(a[0], &value)
            }
            g::ALKYL_HELPER_SAUL_REG_WRITE_VALUE => match i16::try_from(a[1] as i32) {
                Ok(v) => self.saul_write(a[0], &crate::Phydat { val: [v, 0, 0], unit: 0, scale: 0 }),
                Err(_) => ret(g::ALKYL_ERANGE),
            },
            g::ALKYL_HELPER_GCOAP_RESP_INIT
            | g::ALKYL_HELPER_COAP_ADD_FORMAT
            | g::ALKYL_HELPER_COAP_OPT_FINISH
            | g::ALKYL_HELPER_COAP_GET_PDU => {
                let Some(s) = self.coap_session() else { return Ok(ret(g::ALKYL_EINVAL)) };
                let r = match id {
                    g::ALKYL_HELPER_GCOAP_RESP_INIT => s.resp_init(mem, a[0], a[1]),
                    g::ALKYL_HELPER_COAP_ADD_FORMAT => s.add_format(mem, a[0], a[1]),
                    g::ALKYL_HELPER_COAP_OPT_FINISH => s.opt_finish(mem, a[0], a[1]),
                    _ => s.get_pdu(mem, a[0]),
                }?;
                r as u64
            }
            g::ALKYL_HELPER_FMT_S16_DFP => match fmt::s16_dfp(a[1] as i16, a[2] as i32) {
                Some(text) => write_text(mem, a[0], text.as_bytes())?,
                None => ret(g::ALKYL_EINVAL),
            },
            g::ALKYL_HELPER_FMT_U32_DEC => write_text(mem, a[0], fmt::u32_dec(a[1] as u32).as_bytes())?,
            other => return Err(HelperError::Unknown(other)),
        })
    }
}

impl<P: Platform + ?Sized> AlkylHelpers<'_, P> {
    fn saul_write(&mut self, dev: u64, value: &crate::Phydat) -> u64 {
        let Some(dev) = DeviceHandle::from_arg(dev) else { return ret(g::ALKYL_ENODEV) };
        match self.platform.saul_write(dev, value) {
            Ok(dims) => dims as u64,
            Err(e) => ret(e.code()),
        }
    }
}

/// Writes `text` at `out` (unless `out` is 0, RIOT's "length only") and
/// returns its length.
fn write_text(mem: &mut MemoryMap<'_>, out: u64, text: &[u8]) -> Result<u64, HelperError> {
    if out != 0 {
        mem.write(out, text.len() as u64)?.copy_from_slice(text);
    }
    Ok(text.len() as u64)
}

/// `memmove(dest, src, n)` between script regions, both ranges checked in
/// full before the first byte moves.
fn memmove(mem: &mut MemoryMap<'_>, dest: u64, src: u64, n: u64) -> Result<(), HelperError> {
    mem.read(src, n)?;
    mem.write(dest, n)?;
    // Copy backwards when dest overlaps the tail of src.
    let backwards = dest > src && dest - src < n;
    let mut done = 0u64;
    let mut chunk = [0u8; COPY_CHUNK];
    while done < n {
        let step = (n - done).min(COPY_CHUNK as u64);
        let at = if backwards { n - done - step } else { done };
        let buf = &mut chunk[..step as usize];
        buf.copy_from_slice(mem.read(src + at, step)?);
        mem.write(dest + at, step)?.copy_from_slice(buf);
        done += step;
    }
    Ok(())
}
