//! The typed tree: what the checker produces, the inliner flattens, the
//! lowering compiles and the tests' evaluator runs. Every implicit
//! conversion is explicit here (`Convert`), every operand of a binary
//! operator has the operator's type, and names are resolved to ids.

use crate::ast::{BinOp, FnKind, UnOp};
use crate::diag::Span;
use crate::syscalls::SysId;
use crate::types::{Elem, Ty};

pub type LocalId = usize;
pub type GlobalId = usize;
pub type FuncId = usize;

#[derive(Clone, Debug)]
pub struct TProgram {
    pub globals: Vec<TGlobal>,
    pub funcs: Vec<TFunc>,
    /// A gateway (Aryl) script: it has `on` handlers.
    pub gateway: bool,
    /// Bytes of linear memory (global arrays, then the syscall scratch).
    pub memory_size: u32,
    /// Offset of the 8-byte scratch buffer some SystemCalls use.
    pub scratch: u32,
}

#[derive(Clone, Debug)]
pub struct TGlobal {
    pub name: String,
    pub ty: Ty,
    /// Initial value (scalars).
    pub init: u64,
    /// Memory offset (arrays).
    pub offset: u32,
}

#[derive(Clone, Debug)]
pub struct TFunc {
    pub name: String,
    pub kind: FnKind,
    /// Parameters are the first locals.
    pub params: Vec<Ty>,
    pub ret: Ty,
    pub locals: Vec<Ty>,
    pub body: Vec<TStmt>,
    pub span: Span,
    /// Functions this one calls (the call graph, for the recursion check).
    pub calls: Vec<FuncId>,
}

#[derive(Clone, Debug)]
pub enum TStmt {
    Expr(TExpr),
    If(TExpr, Vec<TStmt>, Vec<TStmt>),
    /// `while`, `for` (the step runs after the body and on `continue`) and
    /// `do … while` (the condition is tested after the body).
    Loop {
        cond: Option<TExpr>,
        body: Vec<TStmt>,
        step: Vec<TStmt>,
        do_while: bool,
    },
    /// `for each (device in devices)`: `var` takes 0 .. device count.
    ForEach {
        var: LocalId,
        count: LocalId,
        body: Vec<TStmt>,
    },
    Break,
    Continue,
    Return(Option<TExpr>),
    Block(Vec<TStmt>),
}

#[derive(Clone, Debug)]
pub struct TExpr {
    pub kind: TK,
    pub ty: Ty,
}

/// An element of global array `arr` (`len` elements of `elem`).
#[derive(Clone, Debug)]
pub struct TIndex {
    pub arr: GlobalId,
    pub elem: Elem,
    pub len: u32,
    pub index: Box<TExpr>,
}

#[derive(Clone, Debug)]
pub enum TPlace {
    Local(LocalId),
    Global(GlobalId),
    /// An element of a global array.
    Index(TIndex),
}

#[derive(Clone, Debug)]
pub enum TK {
    /// Canonical bits in the type's width.
    Const(u64),
    Local(LocalId),
    Global(GlobalId),
    /// A global array's element.
    Index(TIndex),
    /// Byte `index` of a `char*` (index ≥ 8 reverts).
    StrIndex(Box<TExpr>, Box<TExpr>),
    /// `Neg`/`BitNot` at the type; `Not` on bool.
    Unary(UnOp, Box<TExpr>),
    /// Both operands have one type (for shifts, the amount is unsigned of
    /// the value's width); comparisons give `bool`.
    Binary(BinOp, Box<TExpr>, Box<TExpr>),
    /// `&&` (true) / `||` (false) on bools.
    Logical(bool, Box<TExpr>, Box<TExpr>),
    Cond(Box<TExpr>, Box<TExpr>, Box<TExpr>),
    /// The operand converted to this expression's type: integer widening
    /// (sign- or zero-extension by the source's signedness), truncation,
    /// `bool` to integer (0/1), integer to `bool` (≠ 0).
    Convert(Box<TExpr>),
    /// Stores the value (already of the place's type); its value is the value stored.
    Assign(Box<TPlace>, Box<TExpr>),
    /// Evaluates in order; the value of the last.
    Seq(Vec<TExpr>),
    Call(FuncId, Vec<TExpr>),
    Sys(SysId, Vec<TExpr>),
    /// `device.F(args)`, or `contract.F(args)` (no device: a transaction):
    /// args converted to the prototype's parameter types.
    DeviceCall {
        device: Option<Box<TExpr>>,
        name: String,
        args: Vec<TExpr>,
    },
    BlockTimestamp,
    /// `devices.NAME`: the gateway's device of that name (gw_device).
    NamedDevice(String),
    Decrypt(Box<TExpr>),
    /// `input8(off)` … `input64(off)`: the little-endian word of this
    /// expression's width at byte `off` (uint32_t) of the call input.
    Input(Box<TExpr>),
    /// An inlined call (after [`crate::inline`]): the parameters' assignments
    /// and the body; `return` inside returns from here, into `ret`.
    Inline {
        body: Vec<TStmt>,
        ret: Option<LocalId>,
    },
}

impl TExpr {
    pub fn new(kind: TK, ty: Ty) -> TExpr {
        TExpr { kind, ty }
    }

    pub fn konst(v: u64, ty: Ty) -> TExpr {
        let w = ty.width().map_or(u64::MAX, |w| w.mask());
        TExpr { kind: TK::Const(v & w), ty }
    }

    /// Reads nothing that a side effect could change, and has none.
    pub fn is_simple(&self) -> bool {
        matches!(self.kind, TK::Const(_) | TK::Local(_) | TK::Global(_))
    }
}
