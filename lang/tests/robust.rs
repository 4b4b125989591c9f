//! Nothing panics on any input: mutations of every source in the tree
//! (the apps, the corpus) through the whole compiler — deletions,
//! duplications, insertions of tokens and bytes — in every `cargo test`
//! (the cargo-fuzz target `lang_front` does the same at scale).

use std::path::Path;

const TOKENS: &[&str] = &[
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ";",
    ",",
    "=",
    "+=",
    "<<=",
    "++",
    "--",
    "?",
    ":",
    "&&",
    "||",
    "!",
    "~",
    "-",
    "if",
    "else",
    "while",
    "for",
    "do",
    "break",
    "continue",
    "return",
    "public",
    "deviceevent",
    "on",
    "this.",
    "SystemCall(",
    "uint8_t",
    "int64_t",
    "char*",
    "bool",
    "void",
    "string",
    "for each (d in devices)",
    "d.F()",
    "block.timestamp",
    "Decrypt(",
    "input16(",
    "0",
    "255",
    "0xffffffffffffffff",
    "'a'",
    "\"abc\"",
    "x",
    "f(",
    "/*",
    "*/",
    "//",
    "\n",
    "99999999999999999999999",
];

fn sources() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["../apps/alkyl", "tests/corpus/run", "tests/corpus/err"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|e| e == "alkyl") {
                out.push(std::fs::read_to_string(p).unwrap());
            }
        }
    }
    out
}

#[test]
fn mutated_sources_never_panic() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let cases: u64 = std::env::var("ROBUST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let mut compiled = 0;
    for src in sources() {
        for _ in 0..cases {
            let mut s = src.clone().into_bytes();
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % (s.len() + 1);
                match next() % 4 {
                    0 if !s.is_empty() => {
                        let end = (at + 1 + (next() as usize) % 12).min(s.len());
                        s.drain(at.min(end)..end);
                    }
                    1 => {
                        let t = TOKENS[(next() as usize) % TOKENS.len()];
                        s.splice(at..at, format!(" {t} ").bytes());
                    }
                    2 if !s.is_empty() => {
                        let a = at.min(s.len() - 1);
                        let end = (a + 1 + (next() as usize) % 40).min(s.len());
                        let piece = s[a..end].to_vec();
                        s.splice(a..a, piece);
                    }
                    _ => s.insert(at, (next() % 128) as u8),
                }
            }
            let text = String::from_utf8_lossy(&s).into_owned();
            let r = std::panic::catch_unwind(|| match alkyl_lang::compile(&text) {
                Ok(c) => {
                    if !c.gateway {
                        let _ = alkyl_translator::ir::compile(&c.module);
                    }
                    true
                }
                Err(d) => {
                    assert!(!d.iter().any(|d| d.message.contains("compiler bug")), "{d:?}");
                    let _ = alkyl_lang::render("m.alkyl", &text, &d);
                    false
                }
            });
            match r {
                Ok(ok) => compiled += ok as u32,
                Err(_) => panic!("the compiler panicked on:\n{text}"),
            }
        }
    }
    assert!(compiled > 0);
}
