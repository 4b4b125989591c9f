//! Script sizes, and heatshrink compression (the rBPF paper's suggestion for
//! shrinking fixed-width eBPF bytecode), with the upload parameters of
//! `alkyl_protocol::compress` (window 2^8, lookahead 2^4 — the settings
//! small devices use).

use alkyl_protocol::compress::{compress, inflate};
/// heatshrink window and lookahead (log2).
pub use alkyl_protocol::compress::{LOOKAHEAD as LOOKAHEAD_SZ2, WINDOW as WINDOW_SZ2};

/// `bytes` compressed as uploads are.
pub fn heatshrink(bytes: &[u8]) -> Vec<u8> {
    compress(bytes).unwrap_or_else(|_| bytes.to_vec())
}

/// The inverse of [`heatshrink`], for checking that sizes are real (empty
/// when the stream does not produce exactly `original_len` bytes).
pub fn unheatshrink(bytes: &[u8], original_len: usize) -> Vec<u8> {
    u32::try_from(original_len).ok().and_then(|n| inflate(bytes, n, original_len).ok()).unwrap_or_default()
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
