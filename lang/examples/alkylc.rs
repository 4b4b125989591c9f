//! Compiles a file and prints the IR text (a debugging aid).
fn main() {
    let path = std::env::args().nth(1).expect("usage: alkylc FILE");
    let src = std::fs::read_to_string(&path).expect("read");
    match alkyl_lang::compile_file(&path, &src) {
        Ok(c) => {
            eprint!("{}", alkyl_lang::render(&path, &src, &c.warnings));
            print!("{}", alkyl_translator::ir::text::disassemble(&c.module).unwrap());
            eprintln!("blocks per width 8/16/32/64: {:?}", alkyl_lang::mode_blocks(&c.module));
        }
        Err(e) => {
            eprint!("{e}");
            std::process::exit(1);
        }
    }
}
