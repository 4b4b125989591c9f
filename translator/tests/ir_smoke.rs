use alkyl_translator::ir::exec::{run_entry, Ended};
use alkyl_translator::ir::sim::SimDevice;
use alkyl_translator::ir::{self, text, Instance, Module};

fn both(src: &str, args: &[u64]) -> (Result<u64, ir::IrTrap>, Ended) {
    let bytes = text::assemble(src).unwrap();
    let module = Module::parse(&bytes).unwrap();
    let v = ir::validate(module).unwrap();
    let mut inst = Instance::new(&v);
    let mut dev = SimDevice::new();
    let oracle = inst.call(&v, 0, args, &[1, 2, 3, 4], &mut dev, 10_000).map(|c| c.value);
    let t = ir::translate(&v).unwrap();
    println!("{}", alkyl_translator::ebpf::disassemble(&t.text).unwrap());
    let mut data = t.data.clone();
    let mut dev2 = SimDevice::new();
    let run = run_entry(&t, &t.functions[0], args, &mut data, &[1, 2, 3, 4], &mut dev2, 100_000).unwrap();
    assert_eq!(inst.data_image(&v), data);
    assert_eq!(dev, dev2);
    (oracle, run.ended)
}

#[test]
fn smoke() {
    let (o, v) = both(".public f w32 w32\n ARG 1\n ARG 0\n SUB\n RETURN\n", &[10, 3]);
    assert_eq!(o, Ok(7));
    assert_eq!(v, Ended::Returned(7));
    let src = "
.memory 16
.global g w8 5
.public f w32
    PUSH 0
loop:
    JUMPDEST
    ARG 0
    ADD
    DUP1
    PUSH 100
    GT
    JUMPI loop
    DUP1
    PUSH 4
    MSTORE
    BITS8
    GLOAD g
    PUSH 1
    ADD
    GSTORE g
    BITS32
    PUSH 3
    SLOAD
    ADD
    RETURN
";
    let (o, v) = both(src, &[7]);
    assert_eq!(o, Ok(105));
    assert_eq!(v, Ended::Returned(105));
}

#[test]
fn show_fletcher() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../apps/ir/fletcher32.air")).unwrap();
    let bytes = text::assemble(&text).unwrap();
    let v = ir::validate(Module::parse(&bytes).unwrap()).unwrap();
    let t = ir::translate(&v).unwrap();
    println!("{}", alkyl_translator::ebpf::disassemble(&t.text).unwrap());
}
