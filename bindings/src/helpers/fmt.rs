//! RIOT's `fmt` number formatting, into a small stack buffer: the helper
//! then copies exactly the produced bytes into script memory.

/// Longest output of [`s16_dfp`]: sign, 5 digits, point, 7 more digits.
pub const DFP_MAX: usize = 16;
/// Longest output of [`u32_dec`].
pub const U32_MAX_DIGITS: usize = 10;

/// A filled prefix of a fixed buffer.
#[derive(Clone, Copy, Debug)]
pub struct Digits<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Digits<N> {
    const fn new() -> Self {
        Digits { buf: [0; N], len: 0 }
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// The produced text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

fn push_dec<const N: usize>(out: &mut Digits<N>, mut v: u64, min_digits: usize) {
    let mut tmp = [0u8; 20];
    let mut n = 0;
    while v > 0 || n < min_digits.max(1) {
        tmp[n] = b'0' + (v % 10) as u8;
        v /= 10;
        n += 1;
        if n == tmp.len() {
            break;
        }
    }
    for &d in tmp[..n].iter().rev() {
        out.push(d);
    }
}

/// `fmt_u32_dec`: decimal digits of `v`.
pub fn u32_dec(v: u32) -> Digits<U32_MAX_DIGITS> {
    let mut out = Digits::new();
    push_dec(&mut out, v as u64, 1);
    out
}

/// `fmt_s16_dfp`: `val * 10^-fp_digits` as decimal text. `fp_digits > 0`
/// prints that many decimals (`2345, 2` → `23.45`, `-5, 2` → `-0.05`);
/// `fp_digits < 0` appends zeros (`5, -2` → `500`). `None` outside
/// `-7..=7`, RIOT's accepted range.
pub fn s16_dfp(val: i16, fp_digits: i32) -> Option<Digits<DFP_MAX>> {
    if !(-7..=7).contains(&fp_digits) {
        return None;
    }
    let mut out = Digits::new();
    let v = val as i32;
    if v < 0 {
        out.push(b'-');
    }
    let abs = v.unsigned_abs() as u64;
    if fp_digits <= 0 {
        push_dec(&mut out, abs, 1);
        if abs != 0 {
            for _ in 0..-fp_digits {
                out.push(b'0');
            }
        }
    } else {
        let e = 10u64.pow(fp_digits as u32);
        push_dec(&mut out, abs / e, 1);
        out.push(b'.');
        push_dec(&mut out, abs % e, fp_digits as usize);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dfp(v: i16, d: i32) -> &'static str {
        let s = s16_dfp(v, d).unwrap();
        std::string::String::from_utf8(s.as_bytes().to_vec()).unwrap().leak()
    }

    extern crate std;

    #[test]
    fn fixed_point() {
        assert_eq!(dfp(2345, 2), "23.45");
        assert_eq!(dfp(-5, 2), "-0.05");
        assert_eq!(dfp(-2345, 1), "-234.5");
        assert_eq!(dfp(5, -2), "500");
        assert_eq!(dfp(0, -3), "0");
        assert_eq!(dfp(i16::MIN, 7), "-0.0032768");
        assert_eq!(dfp(i16::MAX, 0), "32767");
        assert!(s16_dfp(1, 8).is_none());
        assert!(s16_dfp(1, -8).is_none());
    }

    #[test]
    fn decimal() {
        assert_eq!(u32_dec(0).as_bytes(), b"0");
        assert_eq!(u32_dec(u32::MAX).as_bytes(), b"4294967295");
    }
}
