//! Script sizes, and heatshrink compression (the rBPF paper's suggestion for
//! shrinking fixed-width eBPF bytecode; window 2^8, lookahead 2^4 — the
//! settings small devices use).

/// heatshrink window and lookahead (log2).
pub const WINDOW_SZ2: u8 = 8;
pub const LOOKAHEAD_SZ2: u8 = 4;

fn config() -> heatshrink::Config {
    // Both values are inside heatshrink's 1..=16 range.
    heatshrink::Config::new(WINDOW_SZ2, LOOKAHEAD_SZ2).unwrap_or_default()
}

/// `bytes` compressed with heatshrink (w8, l4).
pub fn heatshrink(bytes: &[u8]) -> Vec<u8> {
    // LZSS output is at most 9/8 of the input plus a byte.
    let mut out = vec![0u8; bytes.len() + bytes.len() / 8 + 16];
    let n = heatshrink::encode(bytes, &mut out, &config()).map(<[u8]>::len).unwrap_or(bytes.len());
    out.truncate(n);
    out
}

/// The inverse of [`heatshrink`], for checking that sizes are real.
pub fn unheatshrink(bytes: &[u8], original_len: usize) -> Vec<u8> {
    // heatshrink 0.2's decoder reports a full buffer before it notices the
    // input is spent, so give it room past the expected end.
    let mut out = vec![0u8; original_len + 64];
    let n = heatshrink::decode(bytes, &mut out, &config()).map(<[u8]>::len).unwrap_or(0);
    out.truncate(n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_round_trips_every_kernel() {
        for k in crate::kernels::all() {
            let packed = heatshrink(k.ebpf);
            assert!(packed.len() < k.ebpf.len(), "{}: eBPF should compress", k.name);
            assert_eq!(unheatshrink(&packed, k.ebpf.len()), k.ebpf, "{}", k.name);
        }
    }
}
