//! The ELF packer on objects clang really produces: each test compiles a
//! small C source with `clang -target bpf -O2` (the flags of
//! apps/bpf.flags) and checks the packed container by running it.

use std::path::Path;

use alkyl_pack::{pack, PackError, PackOptions, Packed};
use alkyl_testkit::clang::{compile_bpf, compile_femto_container, femto_container_fixtures};
use alkyl_testkit::ebpf::OneHelper;
use alkyl_vm::container::Script;
use alkyl_vm::{run, AccessPolicy, HelperError, MemoryMap, STACK_VADDR};

/// Compiles `source` with clang's BPF backend (plus `extra` flags).
fn object(name: &str, source: &str, extra: &[&str]) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let c = dir.join(format!("{name}.c"));
    let o = dir.join(format!("{name}.o"));
    std::fs::write(&c, source).unwrap();
    compile_bpf(&c, &o, extra).unwrap_or_else(|e| panic!("{name}: {e}"));
    std::fs::read(o).unwrap()
}

fn packed(name: &str, source: &str) -> Packed {
    pack(&object(name, source, &[]), &PackOptions::default()).unwrap()
}

/// Helper 1 returns its first argument plus 1000.
fn plus_1000(a: [u64; 5], _: &mut MemoryMap<'_>) -> Result<u64, HelperError> {
    Ok(a[0] + 1000)
}

/// Runs `entry` twice with the same .data copy; returns both r0.
fn run_twice(p: &Packed, entry: &str) -> [u64; 2] {
    let bytes = p.to_bytes().unwrap();
    let script = Script::load(&bytes, &OneHelper(1, plus_1000)).unwrap();
    let mut data = vec![0u8; script.data_size()];
    script.init_data(&mut data);
    [0, 1].map(|_| {
        let mut stack = vec![0u8; script.stack_size()];
        let mut mem = MemoryMap::new();
        mem.map(STACK_VADDR, &mut stack, AccessPolicy::ReadWrite).unwrap();
        script.map(&mut mem, &mut data).unwrap();
        let e = script.entry(entry.as_bytes()).unwrap();
        run(&script.program(), e, &[], &mut mem, &mut script.restrict(&mut OneHelper(1, plus_1000)), 10_000).unwrap().r0
    })
}

#[test]
fn data_bss_rodata_and_merged_strings() {
    let p = packed(
        "sections",
        r#"
        int counter = 5;                 /* .data */
        static int hits;                 /* .bss */
        static const int table[4] = { 10, 20, 30, 40 };   /* .rodata */
        int f(void) {
            const char *s = "xyz";       /* .rodata.str1.1 */
            hits += 2;
            counter += table[(unsigned)counter & 3];
            return counter + hits + s[1];
        }"#,
    );
    // counter 5 -> 5 + table[1] = 25; hits 2; 'y' = 121. Then 25 + table[1] = 45, hits 4.
    assert_eq!(run_twice(&p, "f"), [25 + 2 + 121, 45 + 4 + 121]);
    assert!(p.container().trailer.unwrap().bss_len >= 4);
}

#[test]
fn pointer_tables_in_rodata_and_data() {
    let p = packed(
        "tables",
        r#"
        static const char *const words[] = { "alpha", "beta", "gamma" };
        static int x = 7, y = 9;
        int *targets[] = { &x, &y };
        int f(void) { return words[2][1] + *targets[1] + words[0][0]; }"#,
    );
    assert_eq!(run_twice(&p, "f")[0], ('a' as u64) + 9 + ('a' as u64));
    // Femto-Container output cannot express such tables.
    let o = object("tables2", "const char *const w[] = {\"a\", \"b\"}; int f(unsigned i) { return w[i & 1][0]; }", &[]);
    assert!(matches!(
        pack(&o, &PackOptions { compat: true, ..Default::default() }),
        Err(PackError::AbsoluteInCompat { .. })
    ));
}

#[test]
fn global_and_static_calls_across_sections() {
    let p = packed(
        "calls",
        r#"
        #define SEC(s) __attribute__((section(s), used))
        static long (*helper)(long) = (void *)1;
        __attribute__((noinline)) int twice(int v) { return 2 * v; }
        SEC(".text.other") __attribute__((noinline)) int other(int v) { return twice(v) + 1; }
        static __attribute__((noinline)) int local(int v) { return other(v) * 10; }
        int main_entry(void) { return local(3) + helper(0); }
        SEC("app/custom") int custom(void) { return twice(21); }"#,
    );
    let names: Vec<_> = p.entries.iter().map(|(n, _)| n.as_str()).collect();
    for n in ["twice", "other", "main_entry", "custom"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    assert!(!names.contains(&"local"), "static functions are not entry points");
    assert_eq!(p.helpers, [1]);
    assert_eq!(run_twice(&p, "main_entry")[0], 70 + 1000);
    assert_eq!(run_twice(&p, "custom")[0], 42);
    assert_eq!(run_twice(&p, "other")[0], 1);
    // main_entry -> local -> other -> twice: four frames deep, with the
    // VM's save area for r6..r9 between each two.
    let bytes = p.to_bytes().unwrap();
    let script = Script::load(&bytes, &OneHelper(1, plus_1000)).unwrap();
    let save = alkyl_vm::abi::CALL_SAVE_BYTES as usize;
    assert_eq!(script.stack_size(), script.program().frame_size().max(8) as usize * 4 + save * 3);
}

#[test]
fn the_stack_is_computed_from_the_frame_and_can_be_given() {
    let src = r#"
        int f(int i) {
            volatile int a[10];
            a[i & 7] = i;
            return a[(i + 1) & 7] + 1;
        }"#;
    let o = object("stack", src, &[]);
    let p = pack(&o, &PackOptions::default()).unwrap();
    let bytes = p.to_bytes().unwrap();
    let script = Script::load(&bytes, &alkyl_vm::NoHelpers).unwrap();
    let frame = script.program().frame_size() as usize;
    assert!(frame >= 40, "a 40-byte local array: frame {frame}");
    assert_eq!(script.stack_size(), frame, "no local calls: one frame");
    assert_eq!(run_twice(&p, "f")[0], 1);
    // `alkyl pack --stack`: between the frame and 512.
    for (asked, ok) in [(frame as u32, true), (512, true), (frame as u32 - 8, false), (513, false)] {
        let options = PackOptions { stack_size: Some(asked), ..PackOptions::default() };
        match pack(&o, &options) {
            Ok(p) => {
                assert!(ok, "{asked}");
                let bytes = p.to_bytes().unwrap();
                assert_eq!(Script::load(&bytes, &alkyl_vm::NoHelpers).unwrap().stack_size(), asked as usize);
            }
            Err(e) => {
                assert!(!ok, "{asked}: {e}");
                assert_eq!(e, PackError::StackSize { requested: asked, frame_size: frame as u32 });
            }
        }
    }
}

#[test]
fn debug_info_and_btf_are_ignored() {
    let src = "int v = 3; int f(void) { return v * 2; }";
    let plain = pack(&object("plain", src, &[]), &PackOptions::default()).unwrap();
    let debug = pack(&object("debug", src, &["-g"]), &PackOptions::default()).unwrap();
    assert_eq!(plain.container(), debug.container(), "-g adds .BTF/.debug_* sections only");
    assert_eq!(run_twice(&debug, "f"), [6, 6]);
}

#[test]
fn unwind_tables_are_ignored() {
    // Femto-Container's pipeline (clang -emit-llvm | llc -march=bpf) emits
    // .eh_frame, whose relocations name functions.
    let fc = femto_container_fixtures();
    let out = std::env::temp_dir().join(format!("alkyl-pack-fc-{}.o", std::process::id()));
    compile_femto_container(&fc.join("sample_gcoap.c"), &out).unwrap_or_else(|e| panic!("{e}"));
    let elf = std::fs::read(&out).unwrap();
    assert!(elf.windows(9).any(|w| w == b".eh_frame"), "llc emits .eh_frame");
    let packed = pack(&elf, &PackOptions::default()).unwrap();
    assert_eq!(packed.entries, [("coap_resp".to_string(), 0)]);
    assert!(packed.rodata.starts_with(b"coap_resp\0"), "no unwind bytes in .rodata");
}

#[test]
fn undefined_functions_are_named() {
    let o = object("undef", "extern int missing(int); int f(void) { return missing(1); }", &[]);
    match pack(&o, &PackOptions::default()) {
        Err(PackError::UndefinedSymbol { name, .. }) => assert_eq!(name, "missing"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn function_addresses_are_rejected() {
    let o = object("fnptr", "int g(void) { return 1; } int (*volatile p)(void); int f(void) { p = g; return 0; }", &[]);
    assert!(
        matches!(pack(&o, &PackOptions::default()), Err(PackError::UnsupportedTarget { .. })),
        "{:?}",
        pack(&o, &PackOptions::default())
    );
}

#[test]
fn unknown_sections_are_named() {
    // An initialiser table: a section type scripts cannot have.
    let o = object(
        "ctor",
        "asm(\".section .ctors_x,\\\"aw\\\",@init_array\\n.quad 0\\n\"); int f(void) { return 0; }",
        &[],
    );
    match pack(&o, &PackOptions::default()) {
        Err(e @ PackError::UnknownSection { .. }) => assert!(e.to_string().contains(".ctors_x"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_relocations_are_named() {
    // A 32-bit absolute address in data cannot hold a region address.
    let o = object("abs32", "int x; asm(\".section .data.r,\\\"aw\\\"\\n.long x\\n\"); int f(void) { return x; }", &[]);
    match pack(&o, &PackOptions::default()) {
        Err(e @ PackError::UnknownRelocation { .. }) => {
            assert!(e.to_string().contains(".data.r") && e.to_string().contains("R_BPF_64_"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn not_an_object() {
    assert!(matches!(pack(b"\x7fELF garbage", &PackOptions::default()), Err(PackError::Elf(_))));
    assert!(matches!(pack(b"", &PackOptions::default()), Err(PackError::Elf(_))));
    let x86 = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    assert!(matches!(pack(&x86, &PackOptions::default()), Err(PackError::NotBpfObject { .. })));
}

#[test]
fn compat_writes_bss_as_zeros() {
    let o = object("bss", "int z[8]; int f(void) { z[3]++; return z[3]; }", &[]);
    let c = pack(&o, &PackOptions { compat: true, ..Default::default() }).unwrap();
    assert!(c.container().trailer.is_none());
    assert!(c.container().data.len() >= 32);
    assert!(c.container().data.iter().all(|&b| b == 0));
    assert_eq!(run_twice(&c, "f"), [1, 2]);
}
