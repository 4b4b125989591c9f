//! The corpus: small programs with their expected results
//! (tests/corpus/run: `// call: NAME(ARGS) = VALUE` or `trap TRAP`, run in
//! order on one instance, on the IR interpreter and the VM in lockstep), and
//! wrong programs with their expected diagnostics (tests/corpus/err:
//! `// error: LINE:COL: MESSAGE` or `// warning: …`; the rendered output
//! must name `file:LINE:COL` and contain MESSAGE, and no other error may
//! appear).

use std::path::Path;

use alkyl_bindings::SimPlatform;
use alkyl_translator::ir::lockstep::Pair;

fn files(dir: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(dir);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "alkyl"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    out.sort();
    assert!(!out.is_empty());
    out
}

fn arg(a: &str) -> u64 {
    let a = a.trim();
    if let Some(s) = a.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        let mut b = [0u8; 8];
        b[..s.len()].copy_from_slice(s.as_bytes());
        return u64::from_le_bytes(b);
    }
    if let Some(c) = a.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return c.as_bytes()[0] as u64;
    }
    if let Some(h) = a.strip_prefix("0x") {
        return u64::from_str_radix(h, 16).unwrap();
    }
    if let Some(n) = a.strip_prefix('-') {
        return n.parse::<u64>().unwrap().wrapping_neg();
    }
    a.parse().unwrap()
}

#[test]
fn programs_give_their_expected_results() {
    let mut calls = 0;
    for (name, src) in files("run") {
        let c = alkyl_lang::compile_file(&name, &src).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.warnings.is_empty(), "{name}: {}", alkyl_lang::render(&name, &src, &c.warnings));
        let mut pair = Pair::new(&c.module, SimPlatform::demo()).unwrap_or_else(|e| panic!("{name}: {e}"));
        for line in src.lines().filter_map(|l| l.strip_prefix("// call: ")) {
            let (call, want) = line.split_once(" = ").map(|(c, w)| (c, Some(w))).unwrap_or((line, None));
            let (call, trap) = match want {
                Some(_) => (call, None),
                None => {
                    let (c, t) = line.split_once(" trap ").unwrap_or_else(|| panic!("{name}: bad line {line}"));
                    (c, Some(t))
                }
            };
            let (f, args) = call.split_once('(').unwrap();
            let args = args.strip_suffix(')').unwrap();
            let args: Vec<u64> = if args.is_empty() { vec![] } else { args.split(", ").map(arg).collect() };
            let got = pair.call(f, &args, &[]).unwrap_or_else(|e| panic!("{name}: {line}: {e}"));
            match (got, want, trap) {
                (Ok(v), Some(w), _) => assert_eq!(v, arg(w), "{name}: {line}"),
                (Err(t), _, Some(tw)) => {
                    // `Revert(0xb0)`: numbers in hex or decimal.
                    let tw = match tw.split_once("(0x") {
                        Some((k, h)) => format!("{k}({})", u64::from_str_radix(h.trim_end_matches(')'), 16).unwrap()),
                        None => tw.to_string(),
                    };
                    assert_eq!(format!("{t:?}").replace(' ', ""), tw.replace(' ', ""), "{name}: {line}")
                }
                (got, _, _) => panic!("{name}: {line}: got {got:?}"),
            }
            calls += 1;
        }
    }
    assert!(calls > 50, "{calls}");
}

#[test]
fn wrong_programs_give_their_expected_diagnostics() {
    for (name, src) in files("err") {
        let expected: Vec<(&str, &str, &str)> = src
            .lines()
            .filter_map(|l| {
                let (kind, rest) = l
                    .strip_prefix("// error: ")
                    .map(|r| ("error", r))
                    .or_else(|| l.strip_prefix("// warning: ").map(|r| ("warning", r)))?;
                let (pos, msg) = rest.split_once(": ")?;
                Some((kind, pos, msg))
            })
            .collect();
        assert!(!expected.is_empty(), "{name}: no expectations");
        let diags = match alkyl_lang::compile(&src) {
            Ok(c) => c.warnings,
            Err(d) => d,
        };
        let rendered = alkyl_lang::render(&name, &src, &diags);
        for (kind, pos, msg) in &expected {
            let found = diags.iter().any(|d| {
                let (l, c) = d.line_col(&src);
                let k = if d.is_error() { "error" } else { "warning" };
                k == *kind && format!("{l}:{c}") == *pos && d.message.contains(msg)
            });
            assert!(found, "{name}: expected {kind} at {pos}: {msg}\ngot:\n{rendered}");
            assert!(rendered.contains(&format!("{name}:{pos}")), "{name}: rendering lacks {pos}:\n{rendered}");
        }
        let errors = diags.iter().filter(|d| d.is_error()).count();
        let want = expected.iter().filter(|e| e.0 == "error").count();
        assert_eq!(errors, want, "{name}: error count\n{rendered}");
        // The rendering shows the line and a caret.
        assert!(rendered.contains('^'), "{name}: {rendered}");
    }
}
