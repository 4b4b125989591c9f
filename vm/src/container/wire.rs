//! The zero-copy view of a container's bytes. See `docs/container.md` for
//! the byte-level layout.

use super::error::{ContainerError, ContainerErrorKind as Kind, Field};
use super::MAX_FUNCTIONS;

/// Magic as Femto-Container's `gen_rbf` tool writes it: the bytes `rBPF`.
pub const MAGIC: [u8; 4] = *b"rBPF";
/// Magic as a C program writes Femto-Container's `RBPF_MAGIC_NO`
/// (`0x72425046`) on a little-endian machine: the bytes `FPBr`. Accepted on
/// input, never emitted.
pub const MAGIC_NATIVE_C: [u8; 4] = 0x7242_5046u32.to_le_bytes();

/// Femto-Container flag: `.text` uses its compressed instruction encoding.
/// Rejected ([`Kind::CompressedText`]).
pub const FLAG_COMPRESSED: u32 = 0x0000_0001;
/// Alkyl flag: an extension trailer follows the function table.
pub const FLAG_TRAILER: u32 = 0x0000_0100;
/// Every flag this loader understands.
const KNOWN_FLAGS: u32 = FLAG_COMPRESSED | FLAG_TRAILER;

/// How a host passes a CoAP request to the script (`docs/helpers.md`, "Run
/// conventions"); declared in the extension trailer, [`Convention::Alkyl`]
/// without one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Convention {
    /// `r1`/`r2` = the request payload, `r3` = the `alkyl_coap_ctx_t`
    /// (its `pkt` an opaque handle).
    #[default]
    Alkyl = 0,
    /// Femto-Container's: `r1` = the `bpf_coap_ctx_t`, `r2` its length;
    /// `pkt` points to a `coap_pkt_t` region whose 32-bit pointers name
    /// the packet buffer, mapped at address 0.
    FemtoContainer = 1,
}

impl Convention {
    /// The convention a trailer byte names.
    pub const fn from_byte(b: u8) -> Option<Convention> {
        match b {
            0 => Some(Convention::Alkyl),
            1 => Some(Convention::FemtoContainer),
            _ => None,
        }
    }
}

/// Version of the extension trailer this loader reads and writes.
pub const TRAILER_VERSION: u8 = 1;

/// Byte ranges of the fixed header (all little-endian `u32`).
pub mod field {
    use core::ops::Range;
    pub const MAGIC: Range<usize> = 0..4;
    pub const VERSION: Range<usize> = 4..8;
    pub const FLAGS: Range<usize> = 8..12;
    pub const DATA_LEN: Range<usize> = 12..16;
    pub const RODATA_LEN: Range<usize> = 16..20;
    pub const TEXT_LEN: Range<usize> = 20..24;
    pub const FUNCTIONS: Range<usize> = 24..28;
    /// Size of the fixed header.
    pub const HEADER_LEN: usize = 28;

    /// Byte ranges inside one function-table entry (little-endian `u16`).
    pub mod function {
        use core::ops::Range;
        pub const NAME_OFFSET: Range<usize> = 0..2;
        pub const FLAGS: Range<usize> = 2..4;
        pub const LOCATION: Range<usize> = 4..6;
        /// Size of one entry.
        pub const LEN: usize = 6;
    }

    /// Byte ranges inside the extension trailer.
    pub mod trailer {
        use core::ops::Range;
        /// `u16`: bytes of the whole trailer.
        pub const LEN: Range<usize> = 0..2;
        /// `u8`: [`super::super::TRAILER_VERSION`].
        pub const VERSION: usize = 2;
        /// `u8`: zero.
        pub const RESERVED: usize = 3;
        /// `u32`: zero-initialised bytes appended to `.data` at load.
        pub const BSS_LEN: Range<usize> = 4..8;
        /// `u32`: stack bytes the script needs (0: the default 512; at
        /// most 512).
        pub const STACK_SIZE: Range<usize> = 8..12;
        /// `u16`: number of declared helper ids.
        pub const HELPER_COUNT: Range<usize> = 12..14;
        /// `u8`: the calling convention ([`super::super::Convention`]; 0
        /// Alkyl, 1 Femto-Container).
        pub const CONVENTION: usize = 14;
        /// `u8`: zero.
        pub const RESERVED2: Range<usize> = 15..16;
        /// Start of the `u32` helper ids.
        pub const HELPERS: usize = 16;
        /// Size of the trailer without helper ids.
        pub const FIXED_LEN: usize = 16;
    }
}

pub(super) fn le16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[a, c]) => u16::from_le_bytes([a, c]),
        _ => 0,
    }
}

pub(super) fn le32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[a, c, d, e]) => u32::from_le_bytes([a, c, d, e]),
        _ => 0,
    }
}

/// Byte offsets of every part, computed with checked arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    data: usize,
    rodata: usize,
    text: usize,
    functions: usize,
    trailer: usize,
    end: usize,
}

/// A container: header, `.data`, `.rodata`, `.text`, function table and the
/// optional extension trailer, viewed in place.
///
/// # Invariants
/// A value made by [`Container::new_checked`] has passed
/// [`Container::check`]: every accessor below returns in-bounds slices and
/// every function entry names a NUL-terminated name inside `.rodata` and an
/// instruction boundary inside `.text`.
#[derive(Clone, Copy, Debug)]
pub struct Container<T: AsRef<[u8]>> {
    buffer: T,
    layout: Layout,
}

/// One entry of the function table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Function<'a> {
    /// The NUL-free name.
    pub name: &'a [u8],
    /// Byte offset of the name in `.rodata`.
    pub name_offset: u16,
    /// Entry flags (always 0 in a checked container).
    pub flags: u16,
    /// Byte offset in `.text` (a multiple of 8).
    pub location: u16,
}

impl Function<'_> {
    /// The instruction (slot) index this function starts at.
    pub const fn pc(&self) -> usize {
        self.location as usize / 8
    }
}

/// The declared helper ids of a container with a trailer, in ascending order.
#[derive(Clone, Copy, Debug)]
pub struct HelperIds<'a> {
    raw: &'a [u8],
}

impl<'a> HelperIds<'a> {
    /// Number of ids.
    pub fn len(&self) -> usize {
        self.raw.len() / 4
    }

    /// True when no helper is declared (the script calls none).
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The ids as the trailer stores them (little-endian `u32`s).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// The ids in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + 'a {
        self.raw.chunks_exact(4).map(|c| le32(c, 0))
    }

    /// True when `id` is declared (binary search: the list is sorted).
    pub fn contains(&self, id: u32) -> bool {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let v = le32(self.raw, mid * 4);
            if v == id {
                return true;
            }
            if v < id {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        false
    }
}

impl<T: AsRef<[u8]>> Container<T> {
    /// Wraps and fully checks `buffer`.
    ///
    /// # Errors
    /// The first rule the container breaks, with its byte offset.
    pub fn new_checked(buffer: T) -> Result<Self, ContainerError> {
        let layout = Self::check(buffer.as_ref())?;
        Ok(Container { buffer, layout })
    }

    /// Checks everything `new_checked` checks and returns the layout.
    fn check(b: &[u8]) -> Result<Layout, ContainerError> {
        let err = |offset: usize, kind| ContainerError { offset, kind };
        let truncated = |field, needed: u64| err(b.len(), Kind::Truncated { field, needed });
        if b.len() < field::HEADER_LEN {
            return Err(truncated(Field::Header, field::HEADER_LEN as u64));
        }
        let magic = [b[0], b[1], b[2], b[3]];
        if magic != MAGIC && magic != MAGIC_NATIVE_C {
            return Err(err(field::MAGIC.start, Kind::BadMagic { magic }));
        }
        let flags = le32(b, field::FLAGS.start);
        if flags & !KNOWN_FLAGS != 0 {
            return Err(err(field::FLAGS.start, Kind::UnknownFlags { flags }));
        }
        if flags & FLAG_COMPRESSED != 0 {
            return Err(err(field::FLAGS.start, Kind::CompressedText));
        }
        let data_len = le32(b, field::DATA_LEN.start) as u64;
        let rodata_len = le32(b, field::RODATA_LEN.start) as u64;
        let text_len = le32(b, field::TEXT_LEN.start);
        let count = le32(b, field::FUNCTIONS.start);
        if text_len == 0 {
            return Err(err(field::TEXT_LEN.start, Kind::EmptyText));
        }
        if text_len % 8 != 0 {
            return Err(err(field::TEXT_LEN.start, Kind::TextNotMultipleOf8 { len: text_len }));
        }
        if count as usize > MAX_FUNCTIONS {
            return Err(err(field::FUNCTIONS.start, Kind::TooManyFunctions { count }));
        }
        // Offsets in u64: four u32 lengths cannot overflow it.
        let data = field::HEADER_LEN as u64;
        let rodata = data + data_len;
        let text = rodata + rodata_len;
        let functions = text + text_len as u64;
        let trailer = functions + count as u64 * field::function::LEN as u64;
        let have = b.len() as u64;
        for (field, end) in [(Field::Data, rodata), (Field::Rodata, text), (Field::Text, functions)] {
            if have < end {
                return Err(truncated(field, end));
            }
        }
        if have < trailer {
            return Err(truncated(Field::FunctionTable, trailer));
        }
        // Every offset is now <= b.len(), so fits usize.
        let (rodata, text, functions, trailer) = (rodata as usize, text as usize, functions as usize, trailer as usize);
        let rodata_bytes = &b[rodata..text];
        let text_len = text_len as usize;

        for index in 0..count as usize {
            let at = functions + index * field::function::LEN;
            let entry = &b[at..at + field::function::LEN];
            let index16 = index as u16; // count <= MAX_FUNCTIONS < 2^16
            let name_offset = le16(entry, field::function::NAME_OFFSET.start);
            let flags = le16(entry, field::function::FLAGS.start);
            let location = le16(entry, field::function::LOCATION.start);
            if flags != 0 {
                return Err(err(at + field::function::FLAGS.start, Kind::FunctionFlags { index: index16, flags }));
            }
            if location as usize >= text_len {
                return Err(err(
                    at + field::function::LOCATION.start,
                    Kind::FunctionOutsideText { index: index16, location },
                ));
            }
            if location % 8 != 0 {
                return Err(err(
                    at + field::function::LOCATION.start,
                    Kind::FunctionMisaligned { index: index16, location },
                ));
            }
            let name = name_at(rodata_bytes, name_offset).map_err(|kind| {
                let kind = match kind {
                    NameFault::Outside => Kind::NameOutsideRodata { index: index16, offset: name_offset },
                    NameFault::Unterminated => Kind::NameUnterminated { index: index16 },
                    NameFault::Empty => Kind::EmptyName { index: index16 },
                };
                err(at + field::function::NAME_OFFSET.start, kind)
            })?;
            for earlier in 0..index {
                let e_at = functions + earlier * field::function::LEN;
                let e_off = le16(b, e_at + field::function::NAME_OFFSET.start);
                if name_at(rodata_bytes, e_off).ok() == Some(name) {
                    return Err(err(at, Kind::DuplicateName { index: index16 }));
                }
            }
        }

        let end = if flags & FLAG_TRAILER != 0 { check_trailer(b, trailer, data_len)? } else { trailer };
        if end != b.len() {
            return Err(err(end, Kind::TrailingBytes { len: b.len() - end }));
        }
        Ok(Layout { data: field::HEADER_LEN, rodata, text, functions, trailer, end })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole container, as stored.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes()
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn slice(&self, start: usize, end: usize) -> &[u8] {
        self.bytes().get(start..end).unwrap_or(&[])
    }

    /// Header `version`: the application's version.
    pub fn version(&self) -> u32 {
        le32(self.bytes(), field::VERSION.start)
    }

    /// Header `flags`.
    pub fn flags(&self) -> u32 {
        le32(self.bytes(), field::FLAGS.start)
    }

    /// True when the header magic is the C constant's byte order (`FPBr`).
    pub fn has_native_c_magic(&self) -> bool {
        self.bytes().get(field::MAGIC) == Some(&MAGIC_NATIVE_C[..])
    }

    /// Initial contents of `.data`.
    pub fn data(&self) -> &[u8] {
        self.slice(self.layout.data, self.layout.rodata)
    }

    /// `.rodata` (including the function names).
    pub fn rodata(&self) -> &[u8] {
        self.slice(self.layout.rodata, self.layout.text)
    }

    /// `.text`: the bytecode.
    pub fn text(&self) -> &[u8] {
        self.slice(self.layout.text, self.layout.functions)
    }

    /// Number of function-table entries.
    pub fn function_count(&self) -> usize {
        (self.layout.trailer - self.layout.functions) / field::function::LEN
    }

    /// Entry `index` of the function table.
    pub fn function(&self, index: usize) -> Option<Function<'_>> {
        if index >= self.function_count() {
            return None;
        }
        let at = self.layout.functions + index * field::function::LEN;
        let b = self.bytes();
        let name_offset = le16(b, at + field::function::NAME_OFFSET.start);
        Some(Function {
            name: name_at(self.rodata(), name_offset).unwrap_or(&[]),
            name_offset,
            flags: le16(b, at + field::function::FLAGS.start),
            location: le16(b, at + field::function::LOCATION.start),
        })
    }

    /// Every function-table entry, in table order.
    pub fn functions(&self) -> impl Iterator<Item = Function<'_>> {
        (0..self.function_count()).filter_map(|i| self.function(i))
    }

    /// The function named `name`.
    pub fn find_function(&self, name: &[u8]) -> Option<Function<'_>> {
        self.functions().find(|f| f.name == name)
    }

    fn trailer(&self) -> Option<&[u8]> {
        (self.flags() & FLAG_TRAILER != 0).then(|| self.slice(self.layout.trailer, self.layout.end))
    }

    /// Zero-initialised bytes appended to `.data` (0 without a trailer).
    pub fn bss_len(&self) -> u32 {
        self.trailer().map_or(0, |t| le32(t, field::trailer::BSS_LEN.start))
    }

    /// The calling convention the script declares ([`Convention::Alkyl`]
    /// without a trailer).
    pub fn convention(&self) -> Convention {
        self.trailer()
            .and_then(|t| Convention::from_byte(t.get(field::trailer::CONVENTION).copied().unwrap_or(0)))
            .unwrap_or_default()
    }

    /// Stack bytes the script declares it needs (`None`: not declared,
    /// or declared as 0 = the default).
    pub fn stack_size(&self) -> Option<u32> {
        self.trailer().map(|t| le32(t, field::trailer::STACK_SIZE.start)).filter(|&s| s != 0)
    }

    /// The helper ids the script declares (`None` without a trailer: the
    /// host's set alone decides).
    pub fn declared_helpers(&self) -> Option<HelperIds<'_>> {
        self.trailer().map(|t| HelperIds { raw: t.get(field::trailer::HELPERS..).unwrap_or(&[]) })
    }

    /// Total container length.
    pub fn len(&self) -> usize {
        self.layout.end
    }

    /// Never true for a checked container (the header alone is 28 bytes).
    pub fn is_empty(&self) -> bool {
        self.layout.end == 0
    }
}

enum NameFault {
    Outside,
    Unterminated,
    Empty,
}

/// The NUL-terminated, non-empty name at `offset` of `rodata`.
fn name_at(rodata: &[u8], offset: u16) -> Result<&[u8], NameFault> {
    let tail = rodata.get(offset as usize..).filter(|t| !t.is_empty()).ok_or(NameFault::Outside)?;
    match tail.iter().position(|&c| c == 0) {
        Some(0) => Err(NameFault::Empty),
        Some(n) => Ok(&tail[..n]),
        None => Err(NameFault::Unterminated),
    }
}

/// Checks the trailer starting at `at`; returns its end.
fn check_trailer(b: &[u8], at: usize, data_len: u64) -> Result<usize, ContainerError> {
    use field::trailer as t;
    let err = |offset: usize, kind| ContainerError { offset, kind };
    let fixed_end = at as u64 + t::FIXED_LEN as u64;
    if (b.len() as u64) < fixed_end {
        return Err(err(b.len(), Kind::Truncated { field: Field::Trailer, needed: fixed_end }));
    }
    let tr = &b[at..];
    let declared = le16(tr, t::LEN.start);
    let version = tr[t::VERSION];
    if version != TRAILER_VERSION {
        return Err(err(at + t::VERSION, Kind::TrailerVersion { version }));
    }
    if Convention::from_byte(tr[t::CONVENTION]).is_none() {
        return Err(err(at + t::CONVENTION, Kind::UnknownConvention { value: tr[t::CONVENTION] }));
    }
    if tr[t::RESERVED] != 0 || tr[t::RESERVED2.start] != 0 {
        return Err(err(at + t::RESERVED, Kind::TrailerReserved));
    }
    let helpers = le16(tr, t::HELPER_COUNT.start) as usize;
    let expected = (t::FIXED_LEN + helpers * 4) as u64;
    if declared as u64 != expected {
        return Err(err(at + t::LEN.start, Kind::TrailerLength { declared, expected }));
    }
    let end = at as u64 + expected;
    if (b.len() as u64) < end {
        return Err(err(b.len(), Kind::Truncated { field: Field::TrailerHelpers, needed: end }));
    }
    let bss = le32(tr, t::BSS_LEN.start) as u64;
    if data_len + bss > u32::MAX as u64 {
        return Err(err(at + t::BSS_LEN.start, Kind::DataTooLarge));
    }
    let stack = le32(tr, t::STACK_SIZE.start);
    if stack as usize > crate::abi::STACK_SIZE {
        return Err(err(at + t::STACK_SIZE.start, Kind::StackTooLarge { size: stack }));
    }
    let mut previous: Option<u32> = None;
    for i in 0..helpers {
        let id = le32(tr, t::HELPERS + i * 4);
        if previous.is_some_and(|p| id <= p) {
            return Err(err(at + t::HELPERS + i * 4, Kind::HelpersNotSorted { index: i as u16 }));
        }
        previous = Some(id);
    }
    Ok(end as usize)
}

/// The parts of a borrowed container, with the buffer's lifetime.
#[derive(Clone, Copy, Debug)]
pub struct Parts<'a> {
    pub data: &'a [u8],
    pub rodata: &'a [u8],
    pub text: &'a [u8],
    /// The function table, as stored ([`field::function::LEN`] bytes per entry).
    pub functions: &'a [u8],
    pub helpers: Option<HelperIds<'a>>,
}

impl<'a> Container<&'a [u8]> {
    /// The sections and declared helpers, borrowed for the buffer's lifetime
    /// rather than the view's.
    pub fn parts(&self) -> Parts<'a> {
        let b: &'a [u8] = self.buffer;
        let l = self.layout;
        let get = |s: usize, e: usize| b.get(s..e).unwrap_or(&[]);
        let flagged = le32(b, field::FLAGS.start) & FLAG_TRAILER != 0;
        Parts {
            data: get(l.data, l.rodata),
            rodata: get(l.rodata, l.text),
            text: get(l.text, l.functions),
            functions: get(l.functions, l.trailer),
            helpers: flagged.then(|| HelperIds { raw: get(l.trailer + field::trailer::HELPERS, l.end) }),
        }
    }
}
