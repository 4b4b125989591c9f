//! Deterministic pseudo-random numbers for the tests that throw noise at
//! parsers and decoders (the same sequence on every run).

/// Marsaglia's xorshift32; the state must not be 0.
#[derive(Clone, Debug)]
pub struct XorShift32(pub u32);

impl XorShift32 {
    /// The next state.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }

    /// `len` bytes, each the low byte of the next state.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}
