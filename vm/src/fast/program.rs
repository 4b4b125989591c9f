//! A translated program: [`FastProgram`], the form the fast engine runs
//! (borrowing the program and its ops), and [`FastScript`], a verified
//! [`Script`] that owns its translation (verified once, translated once).

use super::op::Op;
use super::translate::{storage_len, translate, TranslateError};
use crate::container::Script;
use crate::storage::Stable;
use crate::verify::Program;

/// A [`Program`] with its translated form; run it with [`super::run_fast`].
///
/// # Invariants
/// Made only by [`translate`] (and [`FastScript::program`], from ops
/// `translate` made of the same program, kept in [`Stable`] storage): `ops`
/// is the translation of `program`, checked to stay inside the program,
/// which the engine's unchecked op fetch relies on.
#[derive(Clone, Copy, Debug)]
pub struct FastProgram<'p, 'o> {
    pub(crate) program: Program<'p>,
    pub(crate) ops: &'o [Op],
    pub(crate) local_calls: bool,
    /// Instructions in the longest straight-line run of the program: while
    /// more fuel than this is left, no run needs its own budget check.
    pub(crate) max_run: u32,
}

impl<'p> FastProgram<'p, '_> {
    /// The verified program this was translated from (its entry points are
    /// valid here too).
    pub const fn program(&self) -> &Program<'p> {
        &self.program
    }

    /// Ops in use (one per slot).
    pub const fn len(&self) -> usize {
        self.ops.len()
    }

    /// Never true: a verified program has at least one slot.
    pub const fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// A verified [`Script`] and its translation for the fast engine, owned
/// together: what a device keeps per installed app. The container was
/// verified once (by [`Script::load`]) and is translated once, here; each
/// run then borrows both ([`FastScript::program`]) at no cost.
///
/// Both storages are [`Stable`]: the ops the engine runs are the ones
/// translated from this container's bytes.
#[derive(Clone, Debug)]
pub struct FastScript<B: Stable<u8>, O: Stable<Op>> {
    script: Script<B>,
    ops: O,
    local_calls: bool,
    max_run: u32,
}

impl<B: Stable<u8>, O: Stable<Op> + AsMut<[Op]>> FastScript<B, O> {
    /// Translates `script` into `ops` (at least [`storage_len`] of its
    /// program).
    ///
    /// # Errors
    /// [`TranslateError::StorageTooSmall`], or the (unreachable for a
    /// verified program) [`TranslateError::Unverified`].
    pub fn translate(script: Script<B>, mut ops: O) -> Result<Self, TranslateError> {
        let program = script.program();
        let (local_calls, max_run) = {
            let fast = translate(&program, ops.as_mut())?;
            (fast.local_calls, fast.max_run)
        };
        Ok(FastScript { script, ops, local_calls, max_run })
    }
}

#[cfg(feature = "alloc")]
impl<B: Stable<u8>> FastScript<B, alloc::boxed::Box<[Op]>> {
    /// [`FastScript::translate`] into ops allocated for it.
    ///
    /// # Errors
    /// As [`FastScript::translate`].
    pub fn translate_boxed(script: Script<B>) -> Result<Self, TranslateError> {
        let ops = alloc::vec![Op::EMPTY; storage_len(&script.program())].into_boxed_slice();
        FastScript::translate(script, ops)
    }
}

impl<B: Stable<u8>, O: Stable<Op>> FastScript<B, O> {
    /// The verified script.
    pub fn script(&self) -> &Script<B> {
        &self.script
    }

    /// The translated program, for [`super::run_fast`].
    pub fn program(&self) -> FastProgram<'_, '_> {
        let program = self.script.program();
        // `translate` filled exactly the first `slots` ops of this same,
        // stable storage (an empty slice would trap at every entry).
        let ops = self.ops.as_ref().get(..storage_len(&program)).unwrap_or(&[]);
        FastProgram { program, ops, local_calls: self.local_calls, max_run: self.max_run }
    }

    /// Bytes of ops held (the storage, all of it).
    pub fn ops_bytes(&self) -> usize {
        core::mem::size_of_val(self.ops.as_ref())
    }

    /// The script and the ops storage, given back.
    pub fn into_parts(self) -> (Script<B>, O) {
        (self.script, self.ops)
    }
}
