//! Differential tests: generated programs over all widths, run by the
//! reference interpreter and, translated, by the VM; results, traps,
//! memory, globals and device effects must agree.
//!
//! `ALKYL_DIFF_CASES` sets how many programs each test runs (default 400;
//! `make diff-ir` runs many more in release mode).

use alkyl_testkit::{check, generate, Outcome};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("ALKYL_DIFF_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 4000, ..ProptestConfig::default() })]

    /// Shrinks to a small counterexample on failure.
    #[test]
    fn interpreter_and_translation_agree(bytes in proptest::collection::vec(any::<u8>(), 16..600)) {
        let program = generate(&bytes);
        if let Err(e) = check(&program) {
            prop_assert!(false, "{e}\n--- program ---\n{}\ncalls: {:?}", program.text, program.calls);
        }
    }
}

/// A deterministic sweep that reports how much it ran.
#[test]
fn sweep_reports_counts() {
    let mut seed = 0x5eed_u64;
    let mut total = Outcome::default();
    let programs = cases();
    for _ in 0..programs {
        let bytes: Vec<u8> = (0..500)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (seed >> 33) as u8
            })
            .collect();
        let program = generate(&bytes);
        match check(&program) {
            Ok(o) => {
                total.calls += o.calls;
                total.traps += o.traps;
                total.inconclusive += o.inconclusive;
            }
            Err(e) => panic!("{e}\n--- program ---\n{}\ncalls: {:?}", program.text, program.calls),
        }
    }
    println!(
        "differential sweep: {programs} programs, {} calls compared ({} trapped on both sides), {} inconclusive",
        total.calls, total.traps, total.inconclusive
    );
    // Generated loops are bounded: running out of fuel would mean the
    // generator lost that property and the sweep checks less than it says.
    assert_eq!(total.inconclusive, 0);
    assert!(total.calls >= programs);
}
