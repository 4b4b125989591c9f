//! Driving `sequential-storage`'s async API over a blocking flash.
//!
//! The crate is written against `embedded-storage-async`; the device's
//! flash (RIOT's flashpage/MTD, the simulated and file-backed flashes) is
//! synchronous. [`Blocking`] gives a blocking flash the async traits (each
//! future is ready when first polled), and [`run`] polls a future once
//! with a no-op waker: with every leaf ready at once, the whole operation
//! completes in that one poll. That is smaller than any executor crate (no
//! queue, no thread parking, no critical section) and cannot spin: a
//! future that is not ready after one poll would be a broken flash driver,
//! and is reported as an I/O error instead of looping.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use embedded_storage::nor_flash as sync;
use embedded_storage_async::nor_flash as nb;

/// A blocking NOR flash seen through the async traits.
#[derive(Debug)]
pub struct Blocking<F>(pub F);

impl<F: sync::ErrorType> nb::ErrorType for Blocking<F> {
    type Error = F::Error;
}

impl<F: sync::ReadNorFlash> nb::ReadNorFlash for Blocking<F> {
    const READ_SIZE: usize = F::READ_SIZE;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), F::Error> {
        self.0.read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

impl<F: sync::NorFlash> nb::NorFlash for Blocking<F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), F::Error> {
        self.0.erase(from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), F::Error> {
        self.0.write(offset, bytes)
    }
}

impl<F: sync::MultiwriteNorFlash> nb::MultiwriteNorFlash for Blocking<F> {}

/// Runs `f` to completion in one poll; `None` if it was not ready (never
/// with a [`Blocking`] flash).
pub fn run<T>(f: impl Future<Output = T>) -> Option<T> {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use super::run;

    #[test]
    fn one_poll() {
        assert_eq!(run(async { 7 }), Some(7));
        // A future that is not ready is reported, not spun on.
        assert_eq!(run(core::future::pending::<u8>()), None);
    }
}
