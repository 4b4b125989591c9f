//! Diagnostics: errors and warnings with a source span, rendered by
//! `codespan-reporting` as `file:line:column`, the source line and a caret.

use codespan_reporting::diagnostic::{Diagnostic as Cs, Label, Severity as CsSeverity};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor::NoColor};

/// A byte range of the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl From<std::ops::Range<usize>> for Span {
    fn from(r: std::ops::Range<usize>) -> Span {
        Span { start: r.start, end: r.end }
    }
}

impl Span {
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One message about the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub span: Span,
    /// What is wrong.
    pub message: String,
    /// At the caret: what was expected.
    pub label: String,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(span: Span, message: impl Into<String>, label: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Error, span, message: message.into(), label: label.into(), notes: Vec::new() }
    }

    pub fn warning(span: Span, message: impl Into<String>, label: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            span,
            message: message.into(),
            label: label.into(),
            notes: Vec::new(),
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// 1-based line and column of the span's start in `src`.
    pub fn line_col(&self, src: &str) -> (usize, usize) {
        let at = self.span.start.min(src.len());
        let before = src.get(..at).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}

/// Renders diagnostics as text: `error: message`, ` ┌─ file:line:col`, the
/// source line with a caret and the label, then the notes.
pub fn render(file: &str, src: &str, diags: &[Diagnostic]) -> String {
    let files = SimpleFile::new(file, src);
    let config = term::Config::default();
    let mut out = NoColor::new(Vec::new());
    for d in diags {
        let end = d.span.end.min(src.len()).max(d.span.start.min(src.len()));
        let start = d.span.start.min(end);
        let cs = match d.severity {
            Severity::Error => Cs::error(),
            Severity::Warning => Cs::warning(),
        };
        let cs = cs
            .with_message(&d.message)
            .with_labels(vec![Label::primary((), start..end).with_message(&d.label)])
            .with_notes(d.notes.clone());
        let _ = term::emit(&mut out, &config, &files, &cs);
        let _ = CsSeverity::Error;
    }
    String::from_utf8_lossy(&out.into_inner()).into_owned()
}
