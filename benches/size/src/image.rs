//! The runtime kept alive: its entry points over a stub platform and a
//! minimal CoAP message, fed from `black_box` so nothing folds away.

use alloc::string::String;
use alloc::vec::Vec;
use core::hint::black_box;

use alkyl_bindings::{DeviceHandle, Phydat, SaulError};
use alkyl_runtime::AppName;
use alkyl_runtime::{Authority, Config, Device, Runtime, SaulInfo, Storage, StorageError};
use coap_handler::Handler;
use coap_message::error::RenderableOnMinimal;
use coap_message::{MessageOption, MinimalWritableMessage, MutableWritableMessage, ReadableMessage};

/// The runtime's default quotas: code size does not depend on their
/// values (riot-module/riot sets its own for the nRF52840's RAM).
const CONFIG: Config = Config::DEFAULT;

/// Storage whose answers the optimizer cannot know.
#[cfg_attr(feature = "flash", allow(dead_code))]
struct StubStorage;

impl Storage for StubStorage {
    fn keys(&mut self) -> Result<Vec<String>, StorageError> {
        black_box(Ok(Vec::new()))
    }
    fn load(&mut self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        black_box(key);
        black_box(Ok(None))
    }
    fn save(&mut self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        black_box((key, bytes));
        black_box(Ok(()))
    }
    fn remove(&mut self, key: &str) -> Result<(), StorageError> {
        black_box(key);
        black_box(Ok(()))
    }
}

/// A NOR flash (nRF52840 geometry) whose answers the optimizer cannot know,
/// under the flash store (`flash` feature).
#[cfg(feature = "flash")]
mod flash {
    use core::hint::black_box;
    use embedded_storage::nor_flash::{ErrorType, MultiwriteNorFlash, NorFlash, NorFlashErrorKind, ReadNorFlash};

    pub struct StubFlash;

    impl ErrorType for StubFlash {
        type Error = NorFlashErrorKind;
    }
    impl ReadNorFlash for StubFlash {
        const READ_SIZE: usize = 1;
        fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
            black_box((offset, &mut *bytes));
            black_box(Ok(()))
        }
        fn capacity(&self) -> usize {
            black_box(64 * 1024)
        }
    }
    impl NorFlash for StubFlash {
        const WRITE_SIZE: usize = 4;
        const ERASE_SIZE: usize = 4096;
        fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
            black_box((from, to));
            black_box(Ok(()))
        }
        fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
            black_box((offset, bytes));
            black_box(Ok(()))
        }
    }
    impl MultiwriteNorFlash for StubFlash {}
}

/// A clock, sensors and a log whose answers the optimizer cannot know.
struct StubDevice;

impl Device for StubDevice {
    fn now_ms(&mut self) -> u64 {
        black_box(0)
    }
    fn now_us(&mut self) -> u64 {
        black_box(0)
    }
    fn sleep_until_us(&mut self, deadline_us: u64) {
        black_box(deadline_us);
    }
    fn log(&mut self, app: &AppName, bytes: &[u8]) {
        black_box((app, bytes));
    }
    fn saul_find_nth(&mut self, pos: u32) -> Option<DeviceHandle> {
        black_box(pos);
        black_box(None)
    }
    fn saul_find_type(&mut self, class: u8) -> Option<DeviceHandle> {
        black_box(class);
        black_box(None)
    }
    fn saul_read(&mut self, dev: DeviceHandle) -> Result<(Phydat, u8), SaulError> {
        black_box(dev);
        black_box(Err(SaulError::NoDevice))
    }
    fn saul_write(&mut self, dev: DeviceHandle, value: &Phydat) -> Result<u8, SaulError> {
        black_box((dev, value));
        black_box(Ok(1))
    }
    fn saul_info(&mut self, dev: DeviceHandle) -> Option<SaulInfo> {
        black_box(dev);
        black_box(None)
    }
}

/// One option of a [`Request`].
struct Opt<'a>(u16, &'a [u8]);

impl MessageOption for Opt<'_> {
    fn number(&self) -> u16 {
        self.0
    }
    fn value(&self) -> &[u8] {
        self.1
    }
}

/// A received request, as the CoAP stack hands it over.
struct Request<'a> {
    code: u8,
    options: &'a [(u16, &'a [u8])],
    payload: &'a [u8],
}

impl ReadableMessage for Request<'_> {
    type Code = u8;
    type MessageOption<'b>
        = Opt<'b>
    where
        Self: 'b;
    type OptionsIter<'b>
        = core::iter::Map<core::slice::Iter<'b, (u16, &'b [u8])>, fn(&'b (u16, &'b [u8])) -> Opt<'b>>
    where
        Self: 'b;

    fn code(&self) -> u8 {
        self.code
    }
    fn options(&self) -> Self::OptionsIter<'_> {
        self.options.iter().map(|&(n, v)| Opt(n, v))
    }
    fn payload(&self) -> &[u8] {
        self.payload
    }
}

/// The response is larger than the buffer.
#[derive(Debug)]
struct TooLong;

impl RenderableOnMinimal for TooLong {
    type Error<IE: RenderableOnMinimal + core::fmt::Debug> = core::convert::Infallible;

    fn render<M: MinimalWritableMessage>(self, message: &mut M) -> Result<(), Self::Error<M::UnionError>> {
        if let Ok(code) = <M::Code as coap_message::Code>::new(coap_numbers::code::INTERNAL_SERVER_ERROR) {
            message.set_code(code);
        }
        Ok(())
    }
}

impl From<core::convert::Infallible> for TooLong {
    fn from(e: core::convert::Infallible) -> TooLong {
        match e {}
    }
}

/// The response buffer gcoap would hand over (`CONFIG_GCOAP_PDU_BUF_SIZE`).
const PDU: usize = 1280;

/// A response being written: options go to the stack (stubbed), the
/// payload into the buffer.
struct Reply {
    code: u8,
    buf: [u8; PDU],
    len: usize,
}

impl MinimalWritableMessage for Reply {
    type Code = u8;
    type OptionNumber = u16;
    type AddOptionError = TooLong;
    type SetPayloadError = TooLong;
    type UnionError = TooLong;

    fn set_code(&mut self, code: u8) {
        self.code = code;
    }
    fn add_option(&mut self, number: u16, value: &[u8]) -> Result<(), TooLong> {
        black_box((number, value));
        Ok(())
    }
    fn set_payload(&mut self, data: &[u8]) -> Result<(), TooLong> {
        self.payload_mut_with_len(data.len())?.copy_from_slice(data);
        Ok(())
    }
}

impl MutableWritableMessage for Reply {
    fn available_space(&self) -> usize {
        PDU
    }
    fn payload_mut_with_len(&mut self, len: usize) -> Result<&mut [u8], TooLong> {
        let buf = self.buf.get_mut(..len).ok_or(TooLong)?;
        self.len = len;
        Ok(buf)
    }
    fn truncate(&mut self, len: usize) -> Result<(), TooLong> {
        if len > self.len {
            return Err(TooLong);
        }
        self.len = len;
        Ok(())
    }
    fn mutate_options<F: FnMut(u16, &mut [u8])>(&mut self, _callback: F) {}
}

/// What a request carries (all unknown to the optimizer).
static OPTIONS: [(u16, &[u8]); 4] = [(11, b"apps"), (11, b"x"), (12, &[50]), (27, &[6])];
static PAYLOAD: [u8; 64] = [0; 64];
static KEY: [u8; 32] = [0; 32];

#[cfg(not(feature = "flash"))]
type Rt = Runtime<StubStorage, StubDevice>;
#[cfg(feature = "flash")]
type Rt = Runtime<alkyl_flash::FlashStorage<flash::StubFlash>, StubDevice>;

/// Boots the runtime and serves requests and polls forever.
pub fn serve() {
    let Some(mut runtime) = boot() else {
        return;
    };
    let mut reply = Reply { code: 0, buf: [0; PDU], len: 0 };
    loop {
        request(&mut runtime, &mut reply);
        black_box((reply.code, &reply.buf[..reply.len]));
        poll(&mut runtime);
    }
}

/// [`Runtime::new`] with a trusted key.
#[inline(never)]
fn boot() -> Option<Rt> {
    let authority = match Authority::read_only().trust(black_box(&KEY)) {
        Ok(a) => a,
        Err(_) => Authority::read_only(),
    };
    #[cfg(not(feature = "flash"))]
    let storage = StubStorage;
    #[cfg(feature = "flash")]
    let storage = alkyl_flash::FlashStorage::open(flash::StubFlash).ok()?;
    let (mut runtime, report) = Runtime::new(CONFIG, authority, storage, StubDevice).ok()?;
    black_box(&report);
    // The device key signs the reports (riot-module/riot sets it at boot).
    runtime.set_device_key(black_box(KEY));
    Some(runtime)
}

/// One request through `coap_handler::Handler`, as gcoap serves it.
#[inline(never)]
fn request(runtime: &mut Rt, reply: &mut Reply) {
    let request = Request { code: black_box(1), options: black_box(&OPTIONS[..]), payload: black_box(&PAYLOAD[..]) };
    let data = match runtime.extract_request_data(&request) {
        Ok(d) => d,
        Err(e) => match e {},
    };
    black_box(runtime.estimate_length(&data));
    if let Err(e) = runtime.build_response(&mut *reply, data) {
        let _ = e.render(reply);
    }
}

/// One turn of the main loop.
#[inline(never)]
fn poll(runtime: &mut Rt) {
    let now = runtime.device().now_ms();
    black_box(runtime.poll(now));
    // The reports' way to the gateway (riot-module/riot/src/gateway.rs).
    if let Some((sequence, bytes)) = runtime.report_due(now) {
        black_box(&bytes);
        match black_box(Some(2u8)) {
            Some(_) => runtime.report_delivered(sequence),
            None => runtime.report_failed(now),
        }
    }
}
