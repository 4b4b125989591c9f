//! The syntax tree the parser builds (untyped; [`crate::check`] types it).

use crate::diag::Span;
use crate::types::Ty;

#[derive(Clone, Debug)]
pub struct Program {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug)]
pub enum Item {
    Global(VarDecl),
    Function(FuncDecl),
}

#[derive(Clone, Debug)]
pub struct VarDecl {
    pub ty: Ty,
    pub ty_span: Span,
    pub name: String,
    pub name_span: Span,
    /// `T name[N]`: N and its span.
    pub array: Option<(u64, Span)>,
    pub init: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FnKind {
    Public,
    DeviceEvent,
    /// A helper function (inlined where it is called).
    Plain,
    /// `on EventName(...)`: a gateway event handler (Aryl script).
    On,
}

#[derive(Clone, Debug)]
pub struct Param {
    pub ty: Ty,
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct FuncDecl {
    pub kind: FnKind,
    pub ret: Ty,
    pub name: String,
    pub name_span: Span,
    pub params: Vec<Param>,
    /// `None` for a prototype (`public void SetPin(char* pin, time_t t);`).
    pub body: Option<Block>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum StmtKind {
    Decl(VarDecl),
    Expr(Expr),
    If(Expr, Box<Stmt>, Option<Box<Stmt>>),
    While(Expr, Box<Stmt>),
    DoWhile(Box<Stmt>, Expr),
    For(Option<Box<Stmt>>, Option<Expr>, Option<Expr>, Box<Stmt>),
    /// `for each (var in devices) body`.
    ForEach {
        var: String,
        var_span: Span,
        collection: String,
        collection_span: Span,
        body: Box<Stmt>,
    },
    Break,
    Continue,
    Return(Option<Expr>),
    Block(Block),
    Empty,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    BitNot,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    And,
    Or,
    Xor,
    Shl,
    Shr,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
}

impl BinOp {
    pub fn is_comparison(self) -> bool {
        matches!(self, BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge | BinOp::Eq | BinOp::Ne)
    }

    pub fn is_shift(self) -> bool {
        matches!(self, BinOp::Shl | BinOp::Shr)
    }

    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::And => "&",
            BinOp::Or => "|",
            BinOp::Xor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Lt => "<",
            BinOp::Gt => ">",
            BinOp::Le => "<=",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Int(u64),
    Char(u8),
    Bool(bool),
    Str(Vec<u8>),
    Name(String),
    /// `this.x`: the global `x`, even where a parameter or local shadows it.
    This(String),
    Index(Box<Expr>, Box<Expr>),
    Call {
        name: String,
        name_span: Span,
        args: Vec<Expr>,
    },
    /// `device.F(args)` (gateway scripts).
    Method {
        recv: Box<Expr>,
        name: String,
        name_span: Span,
        args: Vec<Expr>,
    },
    /// `block.timestamp` (gateway scripts).
    Member(Box<Expr>, String),
    /// `SystemCall(Name, args)`.
    SysCall {
        name: String,
        name_span: Span,
        args: Vec<Expr>,
    },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `&&` (true) or `||` (false).
    Logical(bool, Box<Expr>, Box<Expr>),
    /// `place = value`, or `place op= value`.
    Assign(Option<BinOp>, Box<Expr>, Box<Expr>),
    IncDec {
        pre: bool,
        inc: bool,
        place: Box<Expr>,
    },
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    Cast(Ty, Box<Expr>),
}
