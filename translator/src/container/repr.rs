//! The owned form of a container: parse (through the VM's checked view),
//! emit, and a builder that lays names out the way Femto-Container's tools do.

use alloc::string::String;
use alloc::vec::Vec;

use alkyl_vm::container::{field, Container, ContainerError, FLAG_TRAILER, MAGIC, TRAILER_VERSION};

/// One function-table entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionRepr {
    /// Byte offset of the NUL-terminated name in `.rodata`.
    pub name_offset: u16,
    /// Byte offset of the first instruction in `.text`.
    pub location: u16,
}

/// The Alkyl extension trailer (see `docs/container.md`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrailerRepr {
    /// Zero-initialised bytes after `.data`.
    pub bss_len: u32,
    /// Stack bytes the script needs (0: the default).
    pub stack_size: u32,
    /// Helper ids the script may call, strictly ascending.
    pub helpers: Vec<u32>,
}

/// A container, owned. `emit(parse(b)) == b` for every container the VM
/// accepts (the magic is normalised to `rBPF`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerRepr {
    pub version: u32,
    pub data: Vec<u8>,
    pub rodata: Vec<u8>,
    pub text: Vec<u8>,
    pub functions: Vec<FunctionRepr>,
    /// `Some` sets [`FLAG_TRAILER`] and writes the trailer.
    pub trailer: Option<TrailerRepr>,
}

/// Why a [`ContainerRepr`] cannot be emitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmitError {
    /// A section or table is larger than its length field (`u32`/`u16`).
    TooLarge { what: &'static str, len: usize },
    /// A function name is too far into `.rodata` for the `u16` offset.
    NameOffset { name: String, offset: usize },
    /// A function starts beyond the `u16` location field.
    Location { name: String, location: usize },
}

impl core::fmt::Display for EmitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EmitError::TooLarge { what, len } => write!(f, "{what} of {len} entries/bytes does not fit its field"),
            EmitError::NameOffset { name, offset } => {
                write!(f, "name of `{name}` at .rodata offset {offset} is beyond 65535")
            }
            EmitError::Location { name, location } => {
                write!(f, "function `{name}` at .text byte {location} is beyond 65535")
            }
        }
    }
}

impl core::error::Error for EmitError {}

fn u32_len(what: &'static str, len: usize) -> Result<u32, EmitError> {
    u32::try_from(len).map_err(|_| EmitError::TooLarge { what, len })
}

impl ContainerRepr {
    /// Parses `bytes`, checking every rule the VM checks.
    ///
    /// # Errors
    /// The VM's [`ContainerError`].
    pub fn parse(bytes: &[u8]) -> Result<ContainerRepr, ContainerError> {
        let c = Container::new_checked(bytes)?;
        let flagged = c.flags() & FLAG_TRAILER != 0;
        Ok(ContainerRepr {
            version: c.version(),
            data: c.data().to_vec(),
            rodata: c.rodata().to_vec(),
            text: c.text().to_vec(),
            functions: c
                .functions()
                .map(|f| FunctionRepr { name_offset: f.name_offset, location: f.location })
                .collect(),
            trailer: flagged.then(|| TrailerRepr {
                bss_len: c.bss_len(),
                stack_size: c.stack_size().unwrap_or(0),
                helpers: c.declared_helpers().map(|h| h.iter().collect()).unwrap_or_default(),
            }),
        })
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

    /// Writes the container. Does not validate contents (names, locations,
    /// `.text`): a loader does that; see [`ContainerRepr::parse`].
    ///
    /// # Errors
    /// A length that does not fit its field.
    pub fn emit(&self) -> Result<Vec<u8>, EmitError> {
        let mut out = Vec::with_capacity(self.buffer_len());
        let flags = if self.trailer.is_some() { FLAG_TRAILER } else { 0 };
        out.extend_from_slice(&MAGIC);
        for v in [
            self.version,
            flags,
            u32_len(".data", self.data.len())?,
            u32_len(".rodata", self.rodata.len())?,
            u32_len(".text", self.text.len())?,
            u32_len("function table", self.functions.len())?,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.rodata);
        out.extend_from_slice(&self.text);
        for f in &self.functions {
            out.extend_from_slice(&f.name_offset.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&f.location.to_le_bytes());
        }
        if let Some(t) = &self.trailer {
            let len = field::trailer::FIXED_LEN + 4 * t.helpers.len();
            let len16 = u16::try_from(len).map_err(|_| EmitError::TooLarge { what: "helper list", len })?;
            out.extend_from_slice(&len16.to_le_bytes());
            out.extend_from_slice(&[TRAILER_VERSION, 0]);
            out.extend_from_slice(&t.bss_len.to_le_bytes());
            out.extend_from_slice(&t.stack_size.to_le_bytes());
            out.extend_from_slice(&(t.helpers.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            for id in &t.helpers {
                out.extend_from_slice(&id.to_le_bytes());
            }
        }
        Ok(out)
    }

    /// Appends `name` (NUL-terminated) to `.rodata` and an entry for it at
    /// byte `location` of `.text`, the way Femto-Container's `gen_rbf` lays
    /// names out. Call [`ContainerRepr::pad_sections`] after the last name.
    ///
    /// # Errors
    /// The name offset or the location does not fit 16 bits.
    pub fn add_function(&mut self, name: &str, location: usize) -> Result<(), EmitError> {
        let offset = self.rodata.len();
        let name_offset = u16::try_from(offset).map_err(|_| EmitError::NameOffset { name: name.into(), offset })?;
        let location16 = u16::try_from(location).map_err(|_| EmitError::Location { name: name.into(), location })?;
        self.rodata.extend_from_slice(name.as_bytes());
        self.rodata.push(0);
        self.functions.push(FunctionRepr { name_offset, location: location16 });
        Ok(())
    }

    /// Pads `.data` and `.rodata` with zeros to multiples of 8, as
    /// `gen_rbf` does (keeps `.text` 4-byte aligned after the 28-byte header).
    pub fn pad_sections(&mut self) {
        for s in [&mut self.data, &mut self.rodata] {
            s.resize(s.len().next_multiple_of(8), 0);
        }
    }

    /// The name of function `index`.
    pub fn function_name(&self, index: usize) -> Option<&[u8]> {
        let f = self.functions.get(index)?;
        let tail = self.rodata.get(f.name_offset as usize..)?;
        Some(&tail[..tail.iter().position(|&c| c == 0)?])
    }
}
