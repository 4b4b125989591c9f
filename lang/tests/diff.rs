//! Differential testing at the language level: generated well-typed
//! programs, evaluated by an independent evaluator of the generator's typed
//! tree (tests/common/gen.rs, written from docs/alkyl-lang.md), compiled
//! and run on the IR reference interpreter and, translated, on the VM —
//! every call must agree on the result or the trap.
//!
//! `make test` runs `DIFF_LANG_CASES` (default 3000) programs;
//! `make diff-lang` runs 1,000,000 in release.

mod common;

fn cases(default: u64) -> u64 {
    std::env::var("DIFF_LANG_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn generated_programs_agree() {
    let seed =
        std::env::var("DIFF_LANG_SEED").ok().and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok());
    let (programs, calls, traps) = common::sweep(seed.unwrap_or(0xa1c7_1a46), cases(3000));
    eprintln!("diff-lang: {programs} programs, {calls} calls ({traps} reverted), 0 mismatches");
}
