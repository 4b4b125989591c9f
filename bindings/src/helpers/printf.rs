//! `printf` over script memory: the format and `%s` arguments are read
//! through the [`MemoryMap`] (bounded, checked), the output goes into a
//! fixed buffer of [`PRINTF_MAX`] bytes (longer output is truncated).

use alkyl_vm::{HelperError, MemoryMap};

use crate::generated::{ALKYL_PRINTF_MAX, ALKYL_STRING_MAX};

/// Bytes of output one call produces at most.
pub const PRINTF_MAX: usize = ALKYL_PRINTF_MAX as usize;
/// Bytes read from one `%s` argument at most (and of the format string).
pub const STRING_MAX: usize = ALKYL_STRING_MAX as usize;
/// Longest format string read.
const FORMAT_MAX: usize = PRINTF_MAX;

/// The output of one `printf` call.
#[derive(Debug)]
pub struct Output {
    buf: [u8; PRINTF_MAX],
    len: usize,
}

impl Output {
    fn new() -> Self {
        Output { buf: [0; PRINTF_MAX], len: 0 }
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn pad(&mut self, c: u8, n: usize) {
        for _ in 0..n {
            self.push(c);
        }
    }

    /// The formatted bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// One conversion's flags, width and precision.
#[derive(Clone, Copy, Default)]
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alt: bool,
    width: usize,
    precision: Option<usize>,
    /// Argument width in bytes: 1, 2, 4 (default) or 8.
    size: u8,
}

/// Reads bytes at `addr` up to a NUL or `limit`, faulting like a load on
/// the first inaccessible byte.
fn read_str(mem: &MemoryMap<'_>, addr: u64, limit: usize, out: &mut [u8]) -> Result<usize, HelperError> {
    let mut n = 0;
    while n < limit.min(out.len()) {
        let b = mem.load::<1>(addr.wrapping_add(n as u64))? as u8;
        if b == 0 {
            break;
        }
        out[n] = b;
        n += 1;
    }
    Ok(n)
}

/// Formats `fmt_addr` with up to four arguments.
///
/// # Errors
/// [`HelperError::Memory`] when the format or a `%s` argument is not
/// readable script memory.
pub fn format(mem: &MemoryMap<'_>, fmt_addr: u64, args: &[u64]) -> Result<Output, HelperError> {
    let mut fmt = [0u8; FORMAT_MAX];
    let flen = read_str(mem, fmt_addr, FORMAT_MAX, &mut fmt)?;
    let fmt = &fmt[..flen];
    let mut out = Output::new();
    let mut args = args.iter().copied();
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        if c != b'%' {
            out.push(c);
            continue;
        }
        let start = i - 1;
        let mut spec = Spec { size: 4, ..Spec::default() };
        while let Some(&f) = fmt.get(i) {
            match f {
                b'-' => spec.left = true,
                b'0' => spec.zero = true,
                b'+' => spec.plus = true,
                b' ' => spec.space = true,
                b'#' => spec.alt = true,
                _ => break,
            }
            i += 1;
        }
        if fmt.get(i) == Some(&b'*') {
            let w = args.next().unwrap_or(0) as i32;
            spec.left |= w < 0;
            spec.width = (w.unsigned_abs() as usize).min(PRINTF_MAX);
            i += 1;
        } else {
            spec.width = number(fmt, &mut i);
        }
        if fmt.get(i) == Some(&b'.') {
            i += 1;
            spec.precision = Some(if fmt.get(i) == Some(&b'*') {
                i += 1;
                (args.next().unwrap_or(0) as i32).max(0) as usize
            } else {
                number(fmt, &mut i)
            });
        }
        loop {
            match fmt.get(i) {
                Some(b'h') => spec.size = if spec.size == 2 { 1 } else { 2 },
                Some(b'l' | b'z' | b'j' | b't') => spec.size = 8,
                _ => break,
            }
            i += 1;
        }
        let Some(&conv) = fmt.get(i) else {
            // A lone `%` at the end: print it as written.
            for &b in &fmt[start..] {
                out.push(b);
            }
            break;
        };
        i += 1;
        match conv {
            b'%' => out.push(b'%'),
            b'd' | b'i' => {
                let v = sign_extend(args.next().unwrap_or(0), spec.size);
                let sign = if v < 0 {
                    Some(b'-')
                } else if spec.plus {
                    Some(b'+')
                } else if spec.space {
                    Some(b' ')
                } else {
                    None
                };
                integer(&mut out, &spec, sign, v.unsigned_abs(), 10, false, None);
            }
            b'u' => integer(&mut out, &spec, None, truncate(args.next().unwrap_or(0), spec.size), 10, false, None),
            b'x' | b'X' => {
                let v = truncate(args.next().unwrap_or(0), spec.size);
                let prefix = (spec.alt && v != 0).then_some(if conv == b'x' { &b"0x"[..] } else { &b"0X"[..] });
                integer(&mut out, &spec, None, v, 16, conv == b'X', prefix);
            }
            b'o' => {
                let v = truncate(args.next().unwrap_or(0), spec.size);
                integer(&mut out, &spec, None, v, 8, false, (spec.alt && v != 0).then_some(&b"0"[..]));
            }
            b'p' => {
                let v = args.next().unwrap_or(0);
                integer(&mut out, &Spec { precision: None, ..spec }, None, v, 16, false, Some(b"0x"));
            }
            b'c' => {
                let ch = [args.next().unwrap_or(0) as u8];
                text(&mut out, &spec, &ch);
            }
            b's' => {
                let mut s = [0u8; STRING_MAX];
                let limit = spec.precision.unwrap_or(STRING_MAX);
                let n = read_str(mem, args.next().unwrap_or(0), limit, &mut s)?;
                text(&mut out, &spec, &s[..n]);
            }
            _ => {
                // Unknown conversion: print it as written.
                for &b in &fmt[start..i] {
                    out.push(b);
                }
            }
        }
    }
    Ok(out)
}

fn number(fmt: &[u8], i: &mut usize) -> usize {
    let mut n: usize = 0;
    while let Some(d) = fmt.get(*i).filter(|d| d.is_ascii_digit()) {
        n = (n * 10 + (d - b'0') as usize).min(PRINTF_MAX);
        *i += 1;
    }
    n
}

fn truncate(v: u64, size: u8) -> u64 {
    match size {
        1 => v as u8 as u64,
        2 => v as u16 as u64,
        4 => v as u32 as u64,
        _ => v,
    }
}

fn sign_extend(v: u64, size: u8) -> i64 {
    match size {
        1 => v as i8 as i64,
        2 => v as i16 as i64,
        4 => v as i32 as i64,
        _ => v as i64,
    }
}

fn text(out: &mut Output, spec: &Spec, s: &[u8]) {
    let pad = spec.width.saturating_sub(s.len());
    if !spec.left {
        out.pad(b' ', pad);
    }
    for &b in s {
        out.push(b);
    }
    if spec.left {
        out.pad(b' ', pad);
    }
}

fn integer(out: &mut Output, spec: &Spec, sign: Option<u8>, mut v: u64, base: u64, upper: bool, prefix: Option<&[u8]>) {
    let mut digits = [0u8; 64];
    let mut n = 0;
    let min = spec.precision.unwrap_or(1).min(digits.len());
    while v > 0 || n < min {
        let d = (v % base) as u8;
        digits[n] = match d {
            0..=9 => b'0' + d,
            _ if upper => b'A' + d - 10,
            _ => b'a' + d - 10,
        };
        v /= base;
        n += 1;
    }
    let prefix = prefix.unwrap_or(&[]);
    let body = n + prefix.len() + sign.is_some() as usize;
    let pad = spec.width.saturating_sub(body);
    let zero_pad = spec.zero && !spec.left && spec.precision.is_none();
    if !spec.left && !zero_pad {
        out.pad(b' ', pad);
    }
    if let Some(s) = sign {
        out.push(s);
    }
    for &b in prefix {
        out.push(b);
    }
    if zero_pad {
        out.pad(b'0', pad);
    }
    for &d in digits[..n].iter().rev() {
        out.push(d);
    }
    if spec.left {
        out.pad(b' ', pad);
    }
}
