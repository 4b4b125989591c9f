//! `SystemCall(Name[, args])`: the table of names, their types, and what
//! each compiles to (IR syscalls of `docs/alkyl-ir.md` §9, or a short
//! sequence around them). `docs/alkyl-lang.md` §9 is this table in prose.

use alkyl_bindings_ids as ids;

use crate::types::{IntTy, Ty};

/// Helper ids of the IR syscall table (the helper ABI's).
mod alkyl_bindings_ids {
    pub use alkyl_translator::ir::syscall::SYSCALLS;
    pub fn id(name: &str) -> u32 {
        SYSCALLS.iter().find(|s| s.name == name).map_or(0, |s| s.id)
    }
}

/// An index into [`SYSCALLS`].
pub type SysId = usize;

/// What a SystemCall compiles to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lower {
    /// One IR syscall: the arguments as 32-bit words, its 32-bit result.
    Helper(&'static str),
    /// The actuator of SAUL class `class` (the first the registry finds)
    /// gets `value`; none: `REVERT 0xac7` (as apps/ir/smartlock.air).
    Actuate { class: u8, value: u16 },
    /// `ActuatorWrite(class, value)`: `saul_reg_write_value` on the first
    /// actuator of the class; its result (`ENODEV` when there is none).
    ActuatorWrite,
    /// `SensorRead(class)`: the first value of the first sensor of the
    /// class, or `INT32_MIN` when there is none or the read fails.
    SensorRead,
    /// `Load(key)`: `fetch_local` (or `fetch_global`) into the scratch buffer, then the cell.
    Load { shared: bool },
    /// `Log(value)`: gateway scripts only (`gw_log`).
    GatewayLog,
    /// `Now`: the device's wall clock, Unix seconds (`unix_time` into the
    /// scratch buffer); `0xffff_ffff` (the far future: every deadline has
    /// passed) while the device's clock is not set.
    UnixTime,
}

/// One `SystemCall` name.
#[derive(Clone, Copy, Debug)]
pub struct SysDef {
    pub name: &'static str,
    pub params: &'static [Ty],
    pub ret: Ty,
    pub lower: Lower,
}

const U8: Ty = Ty::Int(IntTy::U8);
const U32: Ty = Ty::Int(IntTy::U32);
const I32: Ty = Ty::Int(IntTy::I32);
const U64: Ty = Ty::Int(IntTy::U64);
const TIME: Ty = Ty::Int(IntTy::TIME_T);

/// SAUL class of the lock's actuator (`SAUL_ACT_SWITCH`).
pub const SAUL_ACT_SWITCH: u8 = 0x44;
/// SAUL class of the beeper (`SAUL_ACT_LED_RGB`: the demo boards' LED), as smartlock.air.
pub const SAUL_BEEPER: u8 = 0x41;
/// `REVERT` code when the actuator of `Unlock`/`Lock`/`IncorrectBeep` is missing.
pub const NO_ACTUATOR: u16 = 0xac7;

/// Every SystemCall name.
pub const SYSCALLS: &[SysDef] = &[
    SysDef { name: "Unlock", params: &[], ret: I32, lower: Lower::Actuate { class: SAUL_ACT_SWITCH, value: 1 } },
    SysDef { name: "Lock", params: &[], ret: I32, lower: Lower::Actuate { class: SAUL_ACT_SWITCH, value: 0 } },
    SysDef { name: "IncorrectBeep", params: &[], ret: I32, lower: Lower::Actuate { class: SAUL_BEEPER, value: 1 } },
    SysDef { name: "Now", params: &[], ret: TIME, lower: Lower::UnixTime },
    SysDef { name: "ActuatorWrite", params: &[U8, I32], ret: I32, lower: Lower::ActuatorWrite },
    SysDef { name: "SensorRead", params: &[U8], ret: I32, lower: Lower::SensorRead },
    SysDef { name: "Store", params: &[U32, U32], ret: I32, lower: Lower::Helper("store_local") },
    SysDef { name: "Load", params: &[U32], ret: U32, lower: Lower::Load { shared: false } },
    SysDef { name: "Delete", params: &[U32], ret: I32, lower: Lower::Helper("delete_local") },
    SysDef { name: "StoreShared", params: &[U32, U32], ret: I32, lower: Lower::Helper("store_global") },
    SysDef { name: "LoadShared", params: &[U32], ret: U32, lower: Lower::Load { shared: true } },
    SysDef { name: "DeleteShared", params: &[U32], ret: I32, lower: Lower::Helper("delete_global") },
    SysDef { name: "Log", params: &[U64], ret: Ty::Void, lower: Lower::GatewayLog },
    // The helper ABI by its own names (32-bit arguments, `int` result).
    SysDef { name: "now_ms", params: &[], ret: U32, lower: Lower::Helper("now_ms") },
    SysDef { name: "saul_reg_find_nth", params: &[U32], ret: I32, lower: Lower::Helper("saul_reg_find_nth") },
    SysDef { name: "saul_reg_find_type", params: &[U32], ret: I32, lower: Lower::Helper("saul_reg_find_type") },
    SysDef {
        name: "saul_reg_write_value",
        params: &[U32, I32],
        ret: I32,
        lower: Lower::Helper("saul_reg_write_value"),
    },
    SysDef { name: "store_local", params: &[U32, U32], ret: I32, lower: Lower::Helper("store_local") },
    SysDef { name: "store_global", params: &[U32, U32], ret: I32, lower: Lower::Helper("store_global") },
    SysDef { name: "delete_local", params: &[U32], ret: I32, lower: Lower::Helper("delete_local") },
    SysDef { name: "delete_global", params: &[U32], ret: I32, lower: Lower::Helper("delete_global") },
];

/// The SystemCall called `name`.
pub fn by_name(name: &str) -> Option<(SysId, &'static SysDef)> {
    SYSCALLS.iter().enumerate().find(|(_, s)| s.name == name)
}

/// The IR syscall id of helper `name`.
pub fn helper_id(name: &str) -> u32 {
    ids::id(name)
}

/// Whether the SystemCall needs the 8-byte scratch buffer in linear memory.
pub fn needs_scratch(d: &SysDef) -> bool {
    matches!(d.lower, Lower::SensorRead | Lower::Load { .. } | Lower::UnixTime)
}

/// The SystemCalls behind a trace of helper calls (id, arguments), by
/// their source names: how `alkyl ir run` reports what a call did. The
/// sequences a SystemCall compiles to are recognized (`Unlock` is
/// `saul_reg_find_type(0x44)` then `saul_reg_write_value(h, 1)`, …); a
/// helper outside them is named as the helper.
pub fn describe(trace: &[(u32, [u64; 5])]) -> Vec<String> {
    let name_of = |id: u32| {
        alkyl_translator::ir::syscall::by_id(id as u64)
            .map_or_else(|| format!("helper {id:#x}"), |s| s.name.to_string())
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < trace.len() {
        let (id, args) = trace[i];
        let next = trace.get(i + 1).map(|(n, a)| (name_of(*n), *a));
        let name = name_of(id);
        let (text, used) = match (name.as_str(), next) {
            ("saul_reg_find_type", Some((n, a))) if n == "saul_reg_write_value" => {
                let (class, value) = (args[0] as u8, a[1] as u32);
                let s = match (class, value) {
                    (SAUL_ACT_SWITCH, 1) => "Unlock",
                    (SAUL_ACT_SWITCH, 0) => "Lock",
                    (SAUL_BEEPER, 1) => "IncorrectBeep",
                    _ => "ActuatorWrite",
                };
                (s.to_string(), 2)
            }
            ("saul_reg_find_type", Some((n, _))) if n == "saul_reg_read" => ("SensorRead".to_string(), 2),
            (n, _) => {
                let s = match n {
                    "unix_time" => "Now",
                    "fetch_local" => "Load",
                    "fetch_global" => "LoadShared",
                    "store_local" => "Store",
                    "store_global" => "StoreShared",
                    "delete_local" => "Delete",
                    "delete_global" => "DeleteShared",
                    other => other,
                };
                (s.to_string(), 1)
            }
        };
        out.push(text);
        i += used;
    }
    out
}
