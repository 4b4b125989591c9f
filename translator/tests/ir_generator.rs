//! The program generator behind the differential tests must keep covering
//! the whole instruction set, or the differential tests silently weaken.

use std::collections::BTreeSet;

use alkyl_testkit::generate;
use alkyl_translator::ir::opcode::Op;

fn pseudo_random_bytes(seed: &mut u64, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| {
            *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (*seed >> 33) as u8
        })
        .collect()
}

#[test]
fn generated_programs_cover_every_opcode() {
    let mut seed = 7;
    let mut seen = BTreeSet::new();
    let mut deepest_dup = 0;
    for _ in 0..1500 {
        let p = generate(&pseudo_random_bytes(&mut seed, 500));
        for line in p.text.lines() {
            let word = line.split_whitespace().next().unwrap_or("");
            if let Some(op) = Op::from_mnemonic(word) {
                if let Op::Dup(n) = op {
                    deepest_dup = deepest_dup.max(n);
                }
                seen.insert(op.byte());
            }
        }
    }
    let missing: Vec<String> = (0..=255u8)
        .map(Op::from_byte)
        .filter(|op| !matches!(op, Op::Unknown(_)))
        .filter(|op| !seen.contains(&op.byte()))
        .map(|op| op.to_string())
        .collect();
    assert!(missing.is_empty(), "never generated: {missing:?}");
    assert_eq!(deepest_dup, 16);
}
