//! The high-level form of a container, borrowing its sections: parse it
//! from a checked [`Container`] view, or fill it in and emit it into a
//! buffer the caller supplies (smoltcp's `wire` Reprs). Neither direction
//! allocates.
//!
//! ```
//! use alkyl_vm::container::{Container, ContainerRepr};
//! let text = [0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]; // mov r0, 1; exit
//! let repr = ContainerRepr { text: &text, ..ContainerRepr::default() };
//! let mut bytes = [0u8; 44];
//! assert_eq!(repr.buffer_len(), bytes.len());
//! repr.emit(&mut bytes).unwrap();
//! let view = Container::new_checked(&bytes[..]).unwrap();
//! assert_eq!(ContainerRepr::parse(&view), repr);
//! ```

use crate::describe::{Describe, Sink};

use super::wire::{field, le16, le32, Container, Convention, FLAG_TRAILER, MAGIC, TRAILER_VERSION};

/// One function-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunctionRepr {
    /// Byte offset of the NUL-terminated name in `.rodata`.
    pub name_offset: u16,
    /// Byte offset of the first instruction in `.text`.
    pub location: u16,
}

impl FunctionRepr {
    /// Appends `name` and a NUL to `rodata` and returns the entry of a
    /// function of that name starting at byte `location` of `.text`: names
    /// laid out the way Femto-Container's `gen_rbf` does. Call
    /// [`pad_section`] on `.data` and `.rodata` after the last name.
    ///
    /// # Errors
    /// The name offset or the location does not fit 16 bits (`rodata` is
    /// left unchanged).
    pub fn append_name<R>(rodata: &mut R, name: &[u8], location: usize) -> Result<FunctionRepr, EmitError>
    where
        R: AsRef<[u8]> + Extend<u8>,
    {
        let offset = rodata.as_ref().len();
        let name_offset = u16::try_from(offset).map_err(|_| EmitError::NameOffset { offset })?;
        let location = u16::try_from(location).map_err(|_| EmitError::Location { location })?;
        rodata.extend(name.iter().copied().chain([0]));
        Ok(FunctionRepr { name_offset, location })
    }
}

/// Pads `section` with zeros to a multiple of 8, as `gen_rbf` does for
/// `.data` and `.rodata` (keeps `.text` 4-byte aligned after the 28-byte
/// header).
pub fn pad_section<R: AsRef<[u8]> + Extend<u8>>(section: &mut R) {
    let len = section.as_ref().len();
    section.extend(core::iter::repeat(0).take(len.next_multiple_of(8) - len));
}

/// A fixed-size record of a container table (a function entry, a helper id).
pub trait Record: Copy {
    /// Bytes of one record in the container.
    const LEN: usize;
    /// Decodes one record (`bytes` is [`Record::LEN`] long).
    fn read(bytes: &[u8]) -> Self;
    /// Encodes one record into `bytes` ([`Record::LEN`] long).
    fn write(&self, bytes: &mut [u8]);
}

impl Record for FunctionRepr {
    const LEN: usize = field::function::LEN;

    fn read(bytes: &[u8]) -> Self {
        FunctionRepr {
            name_offset: le16(bytes, field::function::NAME_OFFSET.start),
            location: le16(bytes, field::function::LOCATION.start),
        }
    }

    fn write(&self, bytes: &mut [u8]) {
        bytes[field::function::NAME_OFFSET].copy_from_slice(&self.name_offset.to_le_bytes());
        bytes[field::function::FLAGS].fill(0);
        bytes[field::function::LOCATION].copy_from_slice(&self.location.to_le_bytes());
    }
}

impl Record for u32 {
    const LEN: usize = 4;

    fn read(bytes: &[u8]) -> Self {
        le32(bytes, 0)
    }

    fn write(&self, bytes: &mut [u8]) {
        bytes.copy_from_slice(&self.to_le_bytes());
    }
}

/// A table of records, borrowed: the values a writer lists, or the encoded
/// table of a parsed container. Two tables are equal when their records
/// are, whatever their form.
#[derive(Clone, Copy, Debug)]
pub enum Table<'a, T> {
    /// Records given as values.
    Values(&'a [T]),
    /// Records as a container stores them ([`Record::LEN`] bytes each).
    Wire(&'a [u8]),
}

impl<'a, T: Record> Table<'a, T> {
    /// Number of records.
    pub fn len(&self) -> usize {
        match self {
            Table::Values(v) => v.len(),
            Table::Wire(b) => b.len() / T::LEN,
        }
    }

    /// True when there is no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Record `index`.
    pub fn get(&self, index: usize) -> Option<T> {
        match self {
            Table::Values(v) => v.get(index).copied(),
            Table::Wire(b) => b.get(index * T::LEN..(index + 1) * T::LEN).map(T::read),
        }
    }

    /// The records in order.
    pub fn iter(&self) -> impl Iterator<Item = T> + 'a {
        let table = *self;
        (0..table.len()).filter_map(move |i| table.get(i))
    }
}

impl<T> Default for Table<'_, T> {
    fn default() -> Self {
        Table::Values(&[])
    }
}

impl<'a, T> From<&'a [T]> for Table<'a, T> {
    fn from(values: &'a [T]) -> Self {
        Table::Values(values)
    }
}

impl<T: Record + PartialEq> PartialEq for Table<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: Record + Eq> Eq for Table<'_, T> {}

/// The Alkyl extension trailer (see `docs/container.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrailerRepr<'a> {
    /// Zero-initialised bytes after `.data`.
    pub bss_len: u32,
    /// Stack bytes the script needs (0: the default).
    pub stack_size: u32,
    /// Helper ids the script may call, strictly ascending.
    pub helpers: Table<'a, u32>,
    /// How a host passes it a CoAP request.
    pub convention: Convention,
}

/// A container, its sections and tables borrowed. `emit(parse(b)) == b`
/// for every container the VM accepts (the magic is normalised to `rBPF`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContainerRepr<'a> {
    pub version: u32,
    pub data: &'a [u8],
    pub rodata: &'a [u8],
    pub text: &'a [u8],
    pub functions: Table<'a, FunctionRepr>,
    /// `Some` sets [`FLAG_TRAILER`] and writes the trailer.
    pub trailer: Option<TrailerRepr<'a>>,
}

/// Why a [`ContainerRepr`] cannot be emitted, or a function entry made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmitError {
    /// A section or table is larger than its length field (`u32`/`u16`).
    TooLarge { what: &'static str, len: usize },
    /// The buffer is not [`ContainerRepr::buffer_len`] bytes long.
    BufferLength { needed: usize, len: usize },
    /// A function name would start beyond `.rodata` offset 65535.
    NameOffset { offset: usize },
    /// A function would start beyond `.text` byte 65535.
    Location { location: usize },
}

impl Describe for EmitError {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            EmitError::TooLarge { what, len } => {
                (what, " of ", len, " entries/bytes does not fit its field").describe(out)
            }
            EmitError::BufferLength { needed, len } => {
                ("the container is ", needed, " bytes, the buffer ", len).describe(out)
            }
            EmitError::NameOffset { offset } => ("a name at .rodata offset ", offset, " is beyond 65535").describe(out),
            EmitError::Location { location } => {
                ("a function at .text byte ", location, " is beyond 65535").describe(out)
            }
        }
    }
}

crate::error_by_describe!(EmitError);

fn u32_len(what: &'static str, len: usize) -> Result<u32, EmitError> {
    u32::try_from(len).map_err(|_| EmitError::TooLarge { what, len })
}

/// Writes the records of `table` at the start of `out`; returns the rest.
fn write_table<'b, T: Record>(table: &Table<'_, T>, out: &'b mut [u8]) -> &'b mut [u8] {
    let (head, rest) = out.split_at_mut(table.len() * T::LEN);
    for (record, bytes) in table.iter().zip(head.chunks_exact_mut(T::LEN)) {
        record.write(bytes);
    }
    rest
}

/// Copies `bytes` to the start of `out`; returns the rest.
fn put<'b>(out: &'b mut [u8], bytes: &[u8]) -> &'b mut [u8] {
    let (head, rest) = out.split_at_mut(bytes.len());
    head.copy_from_slice(bytes);
    rest
}

impl<'a> ContainerRepr<'a> {
    /// The fields of a checked container, borrowed from its buffer.
    pub fn parse(container: &Container<&'a [u8]>) -> ContainerRepr<'a> {
        let parts = container.parts();
        ContainerRepr {
            version: container.version(),
            data: parts.data,
            rodata: parts.rodata,
            text: parts.text,
            functions: Table::Wire(parts.functions),
            trailer: (container.flags() & FLAG_TRAILER != 0).then(|| TrailerRepr {
                bss_len: container.bss_len(),
                stack_size: container.stack_size().unwrap_or(0),
                helpers: Table::Wire(parts.helpers.map_or(&[][..], |h| h.as_bytes())),
                convention: container.convention(),
            }),
        }
    }

    /// Bytes [`ContainerRepr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        let trailer = self.trailer.as_ref().map_or(0, |t| field::trailer::FIXED_LEN + 4 * t.helpers.len());
        field::HEADER_LEN
            + self.data.len()
            + self.rodata.len()
            + self.text.len()
            + field::function::LEN * self.functions.len()
            + trailer
    }

    /// Emits into a new vector ([`ContainerRepr::emit`] into a buffer of
    /// [`ContainerRepr::buffer_len`] bytes).
    ///
    /// # Errors
    /// A length that does not fit its field.
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>, EmitError> {
        let mut bytes = alloc::vec![0; self.buffer_len()];
        self.emit(&mut bytes)?;
        Ok(bytes)
    }

    /// Writes the container into `buffer`, which must be
    /// [`ContainerRepr::buffer_len`] bytes long. Does not validate contents
    /// (names, locations, `.text`): a loader does that.
    ///
    /// # Errors
    /// A length that does not fit its field, or a buffer of another length.
    ///
    /// # Panics
    /// Never.
    pub fn emit(&self, buffer: &mut [u8]) -> Result<(), EmitError> {
        let needed = self.buffer_len();
        if buffer.len() != needed {
            return Err(EmitError::BufferLength { needed, len: buffer.len() });
        }
        let flags = if self.trailer.is_some() { FLAG_TRAILER } else { 0 };
        let header = [
            self.version,
            flags,
            u32_len(".data", self.data.len())?,
            u32_len(".rodata", self.rodata.len())?,
            u32_len(".text", self.text.len())?,
            u32_len("function table", self.functions.len())?,
        ];
        let trailer_len = self.trailer.map(|t| {
            let len = field::trailer::FIXED_LEN + 4 * t.helpers.len();
            u16::try_from(len).map_err(|_| EmitError::TooLarge { what: "helper list", len })
        });
        let trailer_len = trailer_len.transpose()?;
        let mut out = put(buffer, &MAGIC);
        for v in header {
            out = put(out, &v.to_le_bytes());
        }
        out = put(out, self.data);
        out = put(out, self.rodata);
        out = put(out, self.text);
        out = write_table(&self.functions, out);
        if let (Some(t), Some(len)) = (self.trailer, trailer_len) {
            use field::trailer as f;
            out[f::LEN].copy_from_slice(&len.to_le_bytes());
            out[f::VERSION] = TRAILER_VERSION;
            out[f::RESERVED] = 0;
            out[f::BSS_LEN].copy_from_slice(&t.bss_len.to_le_bytes());
            out[f::STACK_SIZE].copy_from_slice(&t.stack_size.to_le_bytes());
            // The length check above bounds the count by u16.
            out[f::HELPER_COUNT].copy_from_slice(&(t.helpers.len() as u16).to_le_bytes());
            out[f::CONVENTION] = t.convention as u8;
            out[f::RESERVED2].fill(0);
            write_table(&t.helpers, &mut out[f::HELPERS..]);
        }
        Ok(())
    }

    /// The name of function `index`.
    pub fn function_name(&self, index: usize) -> Option<&'a [u8]> {
        let f = self.functions.get(index)?;
        let tail = self.rodata.get(f.name_offset as usize..)?;
        Some(&tail[..tail.iter().position(|&c| c == 0)?])
    }
}
