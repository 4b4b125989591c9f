//! Buffers a verified program may own.
//!
//! A [`crate::container::Script`] keeps its container and a
//! [`crate::fast::FastScript`] its translated ops in storage of the host's
//! choosing: a borrowed slice, an array, or (feature `alloc`) a `Box` or a
//! `Vec`. The trait is sealed: what was verified (and what the fast
//! engine's unchecked op fetch was checked against, once, at translation)
//! must be what runs, so the storage must hand out the same slice every
//! time. The standard `AsRef` of these types does; an arbitrary `AsRef`
//! implementation need not.

mod sealed {
    pub trait Sealed {}
}

/// Storage whose `as_ref()` returns the same slice on every call while it
/// is not mutated: `&[T]`, `&mut [T]`, `[T; N]` and, with feature `alloc`,
/// `Box<[T]>` and `Vec<T>`; and a shared borrow of any of them.
pub trait Stable<T>: sealed::Sealed + AsRef<[T]> {}

impl<T> sealed::Sealed for &[T] {}
impl<T> Stable<T> for &[T] {}
impl<T> sealed::Sealed for &mut [T] {}
impl<T> Stable<T> for &mut [T] {}
impl<S: sealed::Sealed + ?Sized> sealed::Sealed for &S {}
impl<T, S: Stable<T>> Stable<T> for &S {}
impl<T, const N: usize> sealed::Sealed for [T; N] {}
impl<T, const N: usize> Stable<T> for [T; N] {}

#[cfg(feature = "alloc")]
impl<T> sealed::Sealed for alloc::boxed::Box<[T]> {}
#[cfg(feature = "alloc")]
impl<T> Stable<T> for alloc::boxed::Box<[T]> {}
#[cfg(feature = "alloc")]
impl<T> sealed::Sealed for alloc::vec::Vec<T> {}
#[cfg(feature = "alloc")]
impl<T> Stable<T> for alloc::vec::Vec<T> {}
