//! The lexer (`logos`): source text → tokens with byte spans.

use logos::Logos;

use crate::diag::{Diagnostic, Span};

#[derive(Logos, Clone, Debug, PartialEq, Eq)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip r"//[^\n]*")]
#[logos(skip r"/\*([^*]|\*+[^*/])*\*+/")]
pub enum Tok {
    #[token("if")]
    If,
    #[token("else")]
    Else,
    #[token("while")]
    While,
    #[token("for")]
    For,
    #[token("do")]
    Do,
    #[token("break")]
    Break,
    #[token("continue")]
    Continue,
    #[token("return")]
    Return,
    #[token("public")]
    Public,
    #[token("deviceevent")]
    DeviceEvent,
    #[token("on")]
    #[token("On")]
    On,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("this")]
    This,
    #[token("SystemCall")]
    SystemCall,
    /// A type name (`void`, `bool`, `char`, `uint8_t`, …, `time_t`, `string`).
    #[token("void", |l| l.slice().to_string())]
    #[token("bool", |l| l.slice().to_string())]
    #[token("char", |l| l.slice().to_string())]
    #[token("int8_t", |l| l.slice().to_string())]
    #[token("int16_t", |l| l.slice().to_string())]
    #[token("int32_t", |l| l.slice().to_string())]
    #[token("int64_t", |l| l.slice().to_string())]
    #[token("uint8_t", |l| l.slice().to_string())]
    #[token("uint16_t", |l| l.slice().to_string())]
    #[token("uint32_t", |l| l.slice().to_string())]
    #[token("uint64_t", |l| l.slice().to_string())]
    #[token("time_t", |l| l.slice().to_string())]
    #[token("string", |l| l.slice().to_string())]
    #[token("device_t", |l| l.slice().to_string())]
    TypeName(String),
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |l| l.slice().to_string())]
    Ident(String),
    #[regex(r"0[xX][0-9a-fA-F]+|[0-9]+", |l| parse_int(l.slice()))]
    Int(Option<u64>),
    #[regex(r"'([^'\\\n]|\\[^\n]|\\x[0-9a-fA-F]{1,2})'", |l| unescape(&l.slice()[1..l.slice().len() - 1]).filter(|b| b.len() == 1).map(|b| b[0]))]
    Char(Option<u8>),
    #[regex(r#""([^"\\\n]|\\[^\n])*""#, |l| unescape(&l.slice()[1..l.slice().len() - 1]))]
    Str(Option<Vec<u8>>),
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(";")]
    Semi,
    #[token(",")]
    Comma,
    #[token(".")]
    Dot,
    #[token("?")]
    Question,
    #[token(":")]
    Colon,
    #[token("=")]
    Assign,
    #[token("+=")]
    AddAssign,
    #[token("-=")]
    SubAssign,
    #[token("*=")]
    MulAssign,
    #[token("/=")]
    DivAssign,
    #[token("%=")]
    RemAssign,
    #[token("&=")]
    AndAssign,
    #[token("|=")]
    OrAssign,
    #[token("^=")]
    XorAssign,
    #[token("<<=")]
    ShlAssign,
    #[token(">>=")]
    ShrAssign,
    #[token("++")]
    PlusPlus,
    #[token("--")]
    MinusMinus,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("&")]
    Amp,
    #[token("|")]
    Pipe,
    #[token("^")]
    Caret,
    #[token("~")]
    Tilde,
    #[token("!")]
    Bang,
    #[token("<<")]
    Shl,
    #[token(">>")]
    Shr,
    #[token("<")]
    Lt,
    #[token(">")]
    Gt,
    #[token("<=")]
    Le,
    #[token(">=")]
    Ge,
    #[token("==")]
    EqEq,
    #[token("!=")]
    Ne,
    #[token("&&")]
    AndAnd,
    #[token("||")]
    OrOr,
}

fn parse_int(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The bytes of a literal's body: `\n \t \r \0 \\ \' \" \xHH`.
fn unescape(body: &str) -> Option<Vec<u8>> {
    let b = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = *b.get(i + 1)?;
        i += 2;
        out.push(match c {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'0' => 0,
            b'\\' => b'\\',
            b'\'' => b'\'',
            b'"' => b'"',
            b'x' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 && i < b.len() && b[i].is_ascii_hexdigit() {
                    v = v * 16 + (b[i] as char).to_digit(16)?;
                    i += 1;
                    n += 1;
                }
                if n == 0 {
                    return None;
                }
                v as u8
            }
            _ => return None,
        });
    }
    Some(out)
}

impl Tok {
    /// How a token is named in "expected …, found …".
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(n) => format!("identifier `{n}`"),
            Tok::TypeName(n) => format!("type `{n}`"),
            Tok::Int(_) => "a number".into(),
            Tok::Char(_) => "a character".into(),
            Tok::Str(_) => "a string".into(),
            other => format!("`{}`", other.text()),
        }
    }

    fn text(&self) -> &'static str {
        match self {
            Tok::If => "if",
            Tok::Else => "else",
            Tok::While => "while",
            Tok::For => "for",
            Tok::Do => "do",
            Tok::Break => "break",
            Tok::Continue => "continue",
            Tok::Return => "return",
            Tok::Public => "public",
            Tok::DeviceEvent => "deviceevent",
            Tok::On => "on",
            Tok::True => "true",
            Tok::False => "false",
            Tok::This => "this",
            Tok::SystemCall => "SystemCall",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Semi => ";",
            Tok::Comma => ",",
            Tok::Dot => ".",
            Tok::Question => "?",
            Tok::Colon => ":",
            Tok::Assign => "=",
            Tok::AddAssign => "+=",
            Tok::SubAssign => "-=",
            Tok::MulAssign => "*=",
            Tok::DivAssign => "/=",
            Tok::RemAssign => "%=",
            Tok::AndAssign => "&=",
            Tok::OrAssign => "|=",
            Tok::XorAssign => "^=",
            Tok::ShlAssign => "<<=",
            Tok::ShrAssign => ">>=",
            Tok::PlusPlus => "++",
            Tok::MinusMinus => "--",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Amp => "&",
            Tok::Pipe => "|",
            Tok::Caret => "^",
            Tok::Tilde => "~",
            Tok::Bang => "!",
            Tok::Shl => "<<",
            Tok::Shr => ">>",
            Tok::Lt => "<",
            Tok::Gt => ">",
            Tok::Le => "<=",
            Tok::Ge => ">=",
            Tok::EqEq => "==",
            Tok::Ne => "!=",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::Ident(_) | Tok::TypeName(_) | Tok::Int(_) | Tok::Char(_) | Tok::Str(_) => "?",
        }
    }
}

/// Tokens with their spans.
///
/// # Errors
/// The first character that starts no token, or a malformed literal.
pub fn lex(src: &str) -> Result<Vec<(Tok, Span)>, Diagnostic> {
    let mut out = Vec::new();
    let mut lexer = Tok::lexer(src);
    while let Some(t) = lexer.next() {
        let span = Span::from(lexer.span());
        match t {
            Ok(Tok::Int(None)) => return Err(Diagnostic::error(span, "number does not fit 64 bits", "too large")),
            Ok(Tok::Char(None)) => {
                return Err(Diagnostic::error(span, "bad character literal", "expected one byte, as 'a' or '\\x41'"))
            }
            Ok(Tok::Str(None)) => return Err(Diagnostic::error(span, "bad escape in string literal", "here")),
            Ok(t) => out.push((t, span)),
            Err(()) => {
                let what = src.get(span.start..span.end).unwrap_or("?");
                let msg = if what.starts_with("/*") {
                    "unterminated comment".to_string()
                } else if what.starts_with('"') || what.starts_with('\'') {
                    "unterminated literal".to_string()
                } else {
                    format!("unexpected character `{}`", what.escape_debug())
                };
                return Err(Diagnostic::error(span, msg, "expected a token of the language"));
            }
        }
    }
    Ok(out)
}
