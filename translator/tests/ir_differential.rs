//! Differential tests: generated programs over all widths, run by the
//! reference interpreter and, translated, by the VM. `ALKYL_DIFF_CASES`
//! raises the case count (default 400 per property).

use alkyl_translator::ir::testkit::{check, generate};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("ALKYL_DIFF_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn interpreter_and_translation_agree(bytes in proptest::collection::vec(any::<u8>(), 16..600)) {
        let program = generate(&bytes);
        if let Err(e) = check(&program) {
            prop_assert!(false, "{e}\n--- program ---\n{}\ncalls: {:?}", program.text, program.calls);
        }
    }
}
