//! Layout, relocation and container assembly. See the crate docs for the
//! rules.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use alkyl_vm::abi::CALL_SAVE_BYTES;
use alkyl_vm::container::{
    pad_section, ContainerRepr, Convention, EmitError, FunctionRepr, Table, TrailerRepr, MAX_FUNCTIONS,
};
use alkyl_vm::isa::{self, op, Insn, INSN_SIZE};
use alkyl_vm::{HelperSet, Program, DATA_VADDR, MAX_CALL_DEPTH, RODATA_VADDR, STACK_SIZE};
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, SectionHeader};
use object::{
    LittleEndian as LE, Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget, SectionIndex,
};

use super::error::PackError;

/// How to pack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PackOptions {
    /// Application version written to the header.
    pub version: u32,
    /// Plain Femto-Container output: no trailer, `.bss` written out as
    /// zeros, no pointer tables.
    pub compat: bool,
    /// The calling convention declared in the trailer (`docs/helpers.md`;
    /// a `compat` container declares none: Alkyl's).
    pub convention: Convention,
    /// The stack to declare instead of the computed need (`alkyl pack
    /// --stack`): at least the verifier's frame size, at most
    /// [`alkyl_vm::STACK_SIZE`]. Ignored with `compat` (no trailer).
    pub stack_size: Option<u32>,
}

/// A packed script: the container's sections, owned ([`Packed::container`]
/// borrows them; [`Packed::to_bytes`] writes the container).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packed {
    /// Application version written to the header.
    pub version: u32,
    /// `.data`, padded to 8 (with `--compat`, `.bss` written out as zeros).
    pub data: Vec<u8>,
    /// `.rodata`, then the function names, padded to 8.
    pub rodata: Vec<u8>,
    pub text: Vec<u8>,
    /// The function table: one entry per global function.
    pub functions: Vec<FunctionRepr>,
    /// `.bss` bytes and stack need for the trailer (`None`: `--compat`, no
    /// trailer).
    pub trailer: Option<(u32, u32)>,
    /// The helper ids `.text` calls, ascending (declared in the trailer).
    pub helpers: Vec<u32>,
    /// The global functions, as (name, instruction index).
    pub entries: Vec<(String, usize)>,
    /// The calling convention declared in the trailer.
    pub convention: Convention,
}

impl Packed {
    /// The container, borrowing the sections.
    pub fn container(&self) -> ContainerRepr<'_> {
        ContainerRepr {
            version: self.version,
            data: &self.data,
            rodata: &self.rodata,
            text: &self.text,
            functions: Table::Values(&self.functions),
            trailer: self.trailer.map(|(bss_len, stack_size)| TrailerRepr {
                bss_len,
                stack_size,
                helpers: Table::Values(&self.helpers),
                convention: self.convention,
            }),
        }
    }

    /// The container's bytes.
    ///
    /// # Errors
    /// A section larger than its length field.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EmitError> {
        self.container().to_bytes()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Data,
    Bss,
    Rodata,
}

/// Where a kept input section lands.
#[derive(Clone, Copy, Debug)]
struct Placed {
    kind: Kind,
    /// Byte offset in its output section (`.bss` offsets count from the
    /// start of `.data`).
    base: u64,
}

/// The output sections under construction.
#[derive(Default)]
struct Output {
    text: Vec<u8>,
    data: Vec<u8>,
    rodata: Vec<u8>,
    bss_end: u64,
}

/// Accepts every helper id: the packer checks structure, the device checks
/// its own helper set at load.
struct AnyHelper;

impl HelperSet for AnyHelper {
    fn contains(&self, _: u32) -> bool {
        true
    }
}

const SHT_LLVM_ADDRSIG: u32 = 0x6fff_4c03;
/// Not named by `object`: a 64-bit absolute address in data.
const R_BPF_64_ABS64: u32 = 2;

/// Sections a BPF object may carry that no script uses: type information,
/// debug information, and unwind tables (`.eh_frame`: `llc -march=bpf`
/// emits one when clang's `-emit-llvm` output is compiled separately, as
/// Femto-Container's build does; its relocations name functions, which a
/// container cannot hold).
fn is_ignored_name(name: &str) -> bool {
    matches!(name, ".BTF" | ".BTF.ext" | ".comment" | ".llvm_addrsig" | ".eh_frame" | ".eh_frame_hdr")
        || name.starts_with(".debug")
        || name.starts_with(".note")
}

fn align_to(v: &mut Vec<u8>, align: u64) {
    let a = align.clamp(1, 8) as usize;
    v.resize(v.len().next_multiple_of(a), 0);
}

/// Packs the relocatable eBPF object `elf_bytes`.
///
/// # Errors
/// A [`PackError`] naming the section, symbol or relocation at fault, or the
/// verifier's error on the packed code.
pub fn pack(elf_bytes: &[u8], options: &PackOptions) -> Result<Packed, PackError> {
    let file = ElfFile64::<LE>::parse(elf_bytes).map_err(|e| PackError::Elf(e.to_string()))?;
    let header = file.elf_header();
    if header.e_machine(LE) != elf::EM_BPF {
        return Err(PackError::NotBpfObject { what: "machine is not EM_BPF" });
    }
    if header.e_type(LE) != elf::ET_REL {
        return Err(PackError::NotBpfObject { what: "not a relocatable object (ET_REL)" });
    }

    let (placed, mut out) = layout(&file)?;
    if out.text.is_empty() {
        return Err(PackError::NoText);
    }
    for section in file.sections() {
        if let Some(p) = placed.get(&section.index().0) {
            relocate(&file, &section, *p, &placed, &mut out, options)?;
        }
    }

    let mut entries = Vec::new();
    for sym in file.symbols() {
        let is_func = sym.elf_symbol().st_type() == elf::STT_FUNC;
        let exported = sym.is_global() || sym.is_weak();
        if let (true, true, Some(index)) = (is_func, exported, sym.section_index()) {
            if let Some(Placed { kind: Kind::Text, base }) = placed.get(&index.0) {
                let name = sym.name().map_err(|e| PackError::Elf(e.to_string()))?;
                entries.push((name.to_string(), ((base + sym.address()) / INSN_SIZE as u64) as usize));
            }
        }
    }
    if entries.len() > MAX_FUNCTIONS {
        return Err(PackError::TooManyFunctions { count: entries.len() });
    }

    let program = alkyl_vm::verify(&out.text, &AnyHelper).map_err(PackError::Verify)?;
    let helpers = called_helpers(&out.text)?;
    let starts: Vec<usize> = entries.iter().map(|&(_, pc)| pc).collect();
    let stack = match options.stack_size {
        Some(s) if s < program.frame_size() || s as usize > STACK_SIZE => {
            return Err(PackError::StackSize { requested: s, frame_size: program.frame_size() })
        }
        Some(s) => s,
        None => stack_need(&program, &starts),
    };

    let data_len = out.data.len() as u64;
    let bss_len = out.bss_end.saturating_sub(data_len);
    let trailer = if options.compat {
        out.data.resize(out.bss_end.max(data_len) as usize, 0);
        None
    } else {
        let bss_len = u32::try_from(bss_len).map_err(|_| PackError::Overflow { section: ".bss".into(), offset: 0 })?;
        Some((bss_len, stack))
    };
    let mut functions = Vec::with_capacity(entries.len());
    for (name, pc) in &entries {
        let entry = FunctionRepr::append_name(&mut out.rodata, name.as_bytes(), pc * INSN_SIZE)
            .map_err(|e| PackError::Entry { name: name.clone(), error: e })?;
        functions.push(entry);
    }
    pad_section(&mut out.data);
    pad_section(&mut out.rodata);
    Ok(Packed {
        version: options.version,
        data: out.data,
        rodata: out.rodata,
        text: out.text,
        functions,
        trailer,
        helpers,
        entries,
        convention: options.convention,
    })
}

/// Classifies every section and places the kept ones.
fn layout(file: &ElfFile64<'_, LE>) -> Result<(BTreeMap<usize, Placed>, Output), PackError> {
    let mut placed = BTreeMap::new();
    let mut out = Output::default();
    let mut bss: Vec<(SectionIndex, u64, u64)> = Vec::new();
    for section in file.sections() {
        let sh = section.elf_section_header();
        let (sh_type, flags) = (sh.sh_type(LE), sh.sh_flags(LE));
        let name = section.name().map_err(|e| PackError::Elf(e.to_string()))?;
        let alloc = flags & elf::SHF_ALLOC as u64 != 0;
        let kind = match sh_type {
            elf::SHT_NULL | elf::SHT_SYMTAB | elf::SHT_STRTAB | elf::SHT_REL | elf::SHT_RELA => continue,
            SHT_LLVM_ADDRSIG => continue,
            _ if is_ignored_name(name) => continue,
            _ if alloc && section.size() == 0 => continue,
            elf::SHT_PROGBITS if alloc && flags & elf::SHF_EXECINSTR as u64 != 0 => Kind::Text,
            elf::SHT_PROGBITS if alloc && flags & elf::SHF_WRITE as u64 != 0 => Kind::Data,
            elf::SHT_PROGBITS if alloc => Kind::Rodata,
            elf::SHT_NOBITS if alloc && flags & elf::SHF_WRITE as u64 != 0 => Kind::Bss,
            _ => return Err(PackError::UnknownSection { name: name.into(), sh_type, flags }),
        };
        let bytes = || section.data().map_err(|e| PackError::Elf(e.to_string()));
        let target = match kind {
            Kind::Text => {
                if section.size() % INSN_SIZE as u64 != 0 {
                    return Err(PackError::TextSize { section: name.into(), size: section.size() });
                }
                &mut out.text
            }
            Kind::Data => &mut out.data,
            Kind::Rodata => &mut out.rodata,
            Kind::Bss => {
                bss.push((section.index(), section.size(), section.align()));
                continue;
            }
        };
        align_to(target, section.align());
        let base = target.len() as u64;
        target.extend_from_slice(bytes()?);
        placed.insert(section.index().0, Placed { kind, base });
    }
    // .bss follows the initialised data.
    let mut end = out.data.len() as u64;
    for (index, size, align) in bss {
        let a = align.clamp(1, 8);
        end = end.next_multiple_of(a);
        placed.insert(index.0, Placed { kind: Kind::Bss, base: end });
        end += size;
    }
    out.bss_end = end;
    Ok((placed, out))
}

fn out_section(out: &mut Output, kind: Kind) -> &mut Vec<u8> {
    match kind {
        Kind::Text => &mut out.text,
        Kind::Data | Kind::Bss => &mut out.data,
        Kind::Rodata => &mut out.rodata,
    }
}

/// Applies the relocations of one kept section.
fn relocate(
    file: &ElfFile64<'_, LE>,
    section: &object::read::elf::ElfSection64<'_, '_, LE>,
    at: Placed,
    placed: &BTreeMap<usize, Placed>,
    out: &mut Output,
    options: &PackOptions,
) -> Result<(), PackError> {
    let sname = section.name().unwrap_or("?").to_string();
    for (offset, reloc) in section.relocations() {
        let RelocationFlags::Elf { r_type } = reloc.flags() else {
            return Err(PackError::Elf("relocation without ELF type".into()));
        };
        let site = at.base + offset;
        let fail_site = |expected| PackError::BadRelocationSite { section: sname.clone(), offset, expected };
        let RelocationTarget::Symbol(sym_index) = reloc.target() else {
            return Err(PackError::UnknownRelocation { section: sname.clone(), offset, r_type });
        };
        let sym = file.symbol_by_index(sym_index).map_err(|e| PackError::Elf(e.to_string()))?;
        let sym_name = match sym.name() {
            Ok("") | Err(_) => sym
                .section_index()
                .and_then(|i| file.section_by_index(i).ok())
                .map_or_else(|| "?".to_string(), |s| s.name().unwrap_or("?").to_string()),
            Ok(n) => n.to_string(),
        };
        if sym.is_undefined() {
            return Err(PackError::UndefinedSymbol { name: sym_name, section: sname.clone(), offset });
        }
        let unsupported =
            |why| PackError::UnsupportedTarget { name: sym_name.clone(), section: sname.clone(), offset, why };
        const FN_ADDRESS: &str = "the address of a function (eBPF has no indirect calls)";
        let target = sym
            .section_index()
            .and_then(|i| placed.get(&i.0).copied())
            .ok_or_else(|| unsupported("symbol is not in a code or data section"))?;
        let explicit = if reloc.has_implicit_addend() { 0 } else { reloc.addend() as u64 };
        let sym_off = target.base.wrapping_add(sym.address()).wrapping_add(explicit);
        let overflow = || PackError::Overflow { section: sname.clone(), offset };
        let buf = out_section(out, at.kind);
        let site = usize::try_from(site).map_err(|_| overflow())?;

        match (at.kind, r_type) {
            (Kind::Text, elf::R_BPF_64_64) => {
                let (Some(lo), Some(hi)) = (Insn::at(buf, site / 8), Insn::at(buf, site / 8 + 1)) else {
                    return Err(fail_site("an lddw"));
                };
                if site % 8 != 0 || lo.opc != op::LDDW || lo.src != isa::lddw::IMM64 {
                    return Err(fail_site("an lddw"));
                }
                let opc = match target.kind {
                    Kind::Data | Kind::Bss => op::LDDW_DATA,
                    Kind::Rodata => op::LDDW_RODATA,
                    Kind::Text => return Err(unsupported(FN_ADDRESS)),
                };
                let addend = (lo.imm as u32 as u64) | ((hi.imm as u32 as u64) << 32);
                let value = sym_off.wrapping_add(addend);
                let value = u32::try_from(value).map_err(|_| overflow())?;
                let lo = Insn { opc, imm: value as i32, ..lo };
                let hi = Insn { imm: 0, ..hi };
                buf[site..site + 8].copy_from_slice(&lo.encode());
                buf[site + 8..site + 16].copy_from_slice(&hi.encode());
            }
            (Kind::Text, elf::R_BPF_64_32) => {
                let insn = Insn::at(buf, site / 8).filter(|_| site % 8 == 0).ok_or_else(|| fail_site("a call"))?;
                if insn.opc != op::CALL || insn.src != isa::call::LOCAL {
                    return Err(fail_site("a local call (call with src = 1)"));
                }
                if target.kind != Kind::Text {
                    return Err(unsupported("a call to something that is not code"));
                }
                // Implicit addend: imm counts slots from the symbol, minus one.
                let target_byte = sym_off as i64 + (insn.imm as i64 + 1) * INSN_SIZE as i64;
                let rel = target_byte / INSN_SIZE as i64 - (site / 8) as i64 - 1;
                let imm = i32::try_from(rel).map_err(|_| overflow())?;
                buf[site..site + 8].copy_from_slice(&Insn { imm, ..insn }.encode());
            }
            (Kind::Data | Kind::Rodata, R_BPF_64_ABS64) => {
                if options.compat {
                    return Err(PackError::AbsoluteInCompat { section: sname.clone(), offset });
                }
                let cell: &mut [u8] = buf.get_mut(site..site + 8).ok_or_else(|| fail_site("8 bytes of data"))?;
                let mut raw = [0u8; 8];
                raw.copy_from_slice(cell);
                let segment = match target.kind {
                    Kind::Data | Kind::Bss => DATA_VADDR,
                    Kind::Rodata => RODATA_VADDR,
                    Kind::Text => return Err(unsupported(FN_ADDRESS)),
                };
                let value = segment + sym_off.wrapping_add(u64::from_le_bytes(raw));
                cell.copy_from_slice(&value.to_le_bytes());
            }
            _ => return Err(PackError::UnknownRelocation { section: sname.clone(), offset, r_type }),
        }
    }
    Ok(())
}

/// The helper ids `code` calls, ascending and unique.
fn called_helpers(code: &[u8]) -> Result<Vec<u32>, PackError> {
    let mut ids = Vec::new();
    let mut pc = 0;
    while let Some(insn) = Insn::at(code, pc) {
        if insn.opc == op::CALLX {
            return Err(PackError::Callx { pc });
        }
        if insn.opc == op::CALL && insn.src == isa::call::HELPER {
            ids.push(insn.imm as u32);
        }
        pc += if op::is_wide(insn.opc) { 2 } else { 1 };
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Stack bytes a verified program needs: one frame per level of the
/// deepest chain of local calls (recursion counts as the VM's maximum),
/// and between each caller's and callee's frame the VM's save area for
/// `r6..=r9` (`alkyl_vm::abi::CALL_SAVE_BYTES`); at most
/// [`STACK_SIZE`], the most a container may declare (deeper chains trap
/// at the call that does not fit, as they do in the default stack).
///
/// `entries` are the instruction indexes a run may start at (besides 0);
/// every local call's target starts a function too.
pub fn stack_need(program: &Program<'_>, entries: &[usize]) -> u32 {
    let (code, frame_size) = (program.code(), program.frame_size());
    let mut calls: Vec<(usize, usize)> = Vec::new();
    let mut pc = 0;
    while let Some(insn) = Insn::at(code, pc) {
        if insn.opc == op::CALL && insn.src == isa::call::LOCAL {
            calls.push((pc, (pc as i64 + 1 + insn.imm as i64) as usize));
        }
        pc += if op::is_wide(insn.opc) { 2 } else { 1 };
    }
    // Functions start at 0, at every entry and at every call target; a
    // call site belongs to the last function start before it.
    let mut starts: Vec<usize> = calls.iter().map(|&(_, t)| t).chain(entries.iter().copied()).collect();
    starts.push(0);
    starts.sort_unstable();
    starts.dedup();
    let function_of = |pc: usize| starts.partition_point(|&s| s <= pc).saturating_sub(1);
    let edges: Vec<(usize, usize)> =
        calls.iter().map(|&(site, target)| (function_of(site), function_of(target))).collect();
    // Longest call chain by relaxation, capped: cycles stop at the cap.
    let mut depth = vec![0usize; starts.len()];
    for _ in 0..=MAX_CALL_DEPTH {
        for &(from, to) in &edges {
            depth[from] = depth[from].max((depth[to] + 1).min(MAX_CALL_DEPTH));
        }
    }
    let levels = depth.into_iter().max().unwrap_or(0);
    let frame = frame_size.max(8) as usize;
    (frame * (levels + 1) + CALL_SAVE_BYTES as usize * levels).min(STACK_SIZE) as u32
}
