//! The clang baseline of the IR numbers (`make bench-ir`, `make
//! bench-lang`): the apps' functions written in C, compiled to eBPF by clang
//! and packed, and a device that runs a container's entries the way the
//! runtime does, counting executed instructions.

use alkyl_bindings::{AlkylHelpers, SimPlatform, ALL_HELPERS};
use alkyl_pack::{pack, PackOptions};
use alkyl_testkit::clang::compile_bpf;
use alkyl_translator::ir::call_input;
use alkyl_translator::ir::exec::{run_entry, Ended};
use alkyl_vm::container::Script;

/// Compiles C to eBPF with clang (the flags of apps/bpf.flags, with
/// `-mcpu=cpu`) and packs the object into a container, or says why not.
pub fn clang(name: &str, source: &str, cpu: &str) -> Result<Vec<u8>, String> {
    let dir = std::env::temp_dir().join(format!("alkyl-bench-ir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let c = dir.join(format!("{name}.c"));
    let o = dir.join(format!("{name}-{cpu}.o"));
    std::fs::write(&c, source).map_err(|e| e.to_string())?;
    compile_bpf(&c, &o, &[&format!("-mcpu={cpu}")]).map_err(|e| format!("{name}: {e}"))?;
    let elf = std::fs::read(&o).map_err(|e| e.to_string())?;
    let packed = pack(&elf, &PackOptions::default()).map_err(|e| e.to_string())?;
    packed.to_bytes().map_err(|e| e.to_string())
}

/// A container on a platform, with its `.data` kept between calls.
pub struct Device {
    container: Vec<u8>,
    data: Vec<u8>,
    pub platform: SimPlatform,
}

impl Device {
    pub fn new(container: Vec<u8>, platform: SimPlatform) -> Device {
        let script = Script::load(&container, &ALL_HELPERS).expect("the container loads");
        let mut data = vec![0; script.data_size()];
        script.init_data(&mut data);
        Device { container, data, platform }
    }

    /// Calls `entry` with `args` in the input's first slots, then `rest`:
    /// (r0, executed instructions).
    pub fn call(&mut self, entry: &str, args: &[u64], rest: &[u8]) -> (u64, u64) {
        let script = Script::load(&self.container, &ALL_HELPERS).unwrap();
        let pc = script.entry(entry.as_bytes()).unwrap_or_else(|| panic!("no entry {entry}"));
        let input = call_input(args, rest);
        let mut helpers = AlkylHelpers::new(&mut self.platform, 0);
        let run = run_entry(&script, &script, pc, &mut self.data, &input, &mut helpers, 10_000_000).unwrap();
        match run.ended {
            Ended::Returned(r0) => (r0, run.executed),
            other => panic!("{entry} ended with {other:?}"),
        }
    }
}

pub const FLETCHER_C: &str = r#"
#include "alkyl.h"
/* Fletcher-32 as apps/ir/fletcher32.air computes it, under the same run
   convention: the byte count in the input's first 8-byte slot, the data
   after it. */
uint32_t fletcher32(const uint8_t *in, unsigned long in_len)
{
    uint32_t c0 = 0, c1 = 0;
    uint32_t words = *(const uint32_t *)in / 2;
    const uint16_t *w = (const uint16_t *)(in + 8);
    while (words) {
        uint32_t block = words > 359 ? 359 : words;
        words -= block;
        do {
            c0 += *w++;
            c1 += c0;
        } while (--block);
        c0 %= 65535;
        c1 %= 65535;
    }
    return (c1 << 16) | c0;
}
"#;

pub const LOCK_C: &str = r#"
#include "alkyl.h"
/* The smart lock of apps/ir/smartlock.air, state in globals, arguments
   in the input's 8-byte slots as the IR receives them. */
static uint8_t pin[4];
static uint32_t expires;
static uint8_t key_index;
static uint8_t valid = 1;
static uint32_t buzzer = 2;

int SetPin(const uint8_t *in, unsigned long len)
{
    uint32_t p = *(const uint32_t *)in;
    pin[0] = p; pin[1] = p >> 8; pin[2] = p >> 16; pin[3] = p >> 24;
    expires = *(const uint32_t *)(in + 8);
    valid = 1;
    key_index = 0;
    return 0;
}

int KeyPressed(const uint8_t *in, unsigned long len)
{
    uint32_t now;
    if (bpf_unix_time(&now) != 0 || !(now < expires))
        valid = 0;
    if (pin[key_index & 3] != in[0])
        valid = 0;
    if (++key_index != 4)
        return 0;
    key_index = 0;
    uint8_t ok = valid;
    valid = 1;
    bpf_saul_reg_t *dev = ok ? bpf_saul_reg_find_type(ALKYL_SAUL_ACT_SWITCH) : bpf_saul_reg_find_nth(buzzer);
    if (!dev)
        return -1;
    bpf_saul_reg_write_value(dev, 1);
    return ok ? 1 : 2;
}
"#;
