//! The runtime as a `coap_handler::Handler` (what riot-wrappers' gcoap
//! integration and the host node serve) and a `coap_handler::Reporting`
//! (its resources for `/.well-known/core`).
//!
//! All work happens in `extract_request_data` (the request is read in full,
//! the change applied or the script run); the owned [`Response`] is only
//! written in `build_response`, because gcoap builds the response in the
//! buffer that held the request.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::convert::Infallible;

use coap_handler::{Attribute, Handler, Record, Reporting};
use coap_message::{MinimalWritableMessage, MutableWritableMessage, ReadableMessage};

use super::message::{format, Response};
use crate::device::Device;
use crate::runtime::Runtime;
use crate::storage::Storage;

/// Bytes of a response besides its payload, at most (header, token,
/// options).
const OVERHEAD: usize = 32;

/// The `coap_handler::Handler` of a type that turns a request into an owned
/// [`Response`] (`$handle`), and its `coap_handler::Reporting` from the
/// runtime's resource links (`$links`, a `Vec<Link>`): one body for the
/// runtime itself and for a runtime behind a [`Lock`] ([`Shared`]).
macro_rules! response_handler {
    ([$($generics:tt)*] $ty:ty, |$this:ident, $request:ident| $handle:expr, |$me:ident| $links:expr) => {
        impl<$($generics)*> Handler for $ty {
            type RequestData = Response;
            type ExtractRequestError = Infallible;
            type BuildResponseError<M: MinimalWritableMessage> = M::UnionError;

            fn extract_request_data<M: ReadableMessage>(&mut self, $request: &M) -> Result<Response, Infallible> {
                let $this = self;
                Ok($handle)
            }

            fn estimate_length(&mut self, response: &Response) -> usize {
                response.payload.len() + OVERHEAD
            }

            fn build_response<M: MutableWritableMessage>(
                &mut self,
                message: &mut M,
                response: Response,
            ) -> Result<(), M::UnionError> {
                response.write(message)
            }
        }

        impl<$($generics)*> Reporting for $ty {
            type Record<'res>
                = Link
            where
                Self: 'res;
            type Reporter<'res>
                = vec::IntoIter<Link>
            where
                Self: 'res;

            fn report(&self) -> Self::Reporter<'_> {
                let $me = self;
                let links: Vec<Link> = $links;
                links.into_iter()
            }
        }
    };
}

response_handler!([S: Storage, D: Device] Runtime<S, D>, |rt, request| rt.handle(request), |rt| rt.links());

/// One resource in `/.well-known/core`.
#[derive(Clone)]
pub struct Link {
    path: Vec<String>,
    attributes: Vec<Attribute>,
}

impl core::fmt::Debug for Link {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Link").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Record for Link {
    type PathElement = String;
    type PathElements = vec::IntoIter<String>;
    type Attributes = vec::IntoIter<Attribute>;

    fn path(&self) -> Self::PathElements {
        self.path.clone().into_iter()
    }

    fn rel(&self) -> Option<&str> {
        None
    }

    fn attributes(&self) -> Self::Attributes {
        self.attributes.clone().into_iter()
    }
}

fn link(path: &[&str], attributes: &[Attribute]) -> Link {
    Link { path: path.iter().map(|s| String::from(*s)).collect(), attributes: attributes.to_vec() }
}

impl<S: Storage, D: Device> Runtime<S, D> {
    /// The resources of `/.well-known/core` as links.
    fn links(&self) -> Vec<Link> {
        let mut links = Vec::new();
        self.resources(|path, attributes| links.push(link(path, attributes)));
        links
    }

    /// Visits the resources of `/.well-known/core`: path and attributes.
    pub(super) fn resources(&self, mut f: impl FnMut(&[&str], &[Attribute])) {
        let json = Attribute::Ct(format::JSON);
        f(&["apps"], &[json, Attribute::ResourceType("alkyl.apps")]);
        f(&["sensors"], &[json, Attribute::ResourceType("alkyl.sensors")]);
        f(&["invoke"], &[Attribute::ResourceType("alkyl.invoke")]);
        f(&["time"], &[Attribute::Ct(format::TEXT), Attribute::ResourceType("alkyl.time")]);
        f(&["auth"], &[json, Attribute::ResourceType("alkyl.auth")]);
        f(&["reports"], &[json, Attribute::ResourceType("alkyl.reports")]);
        for app in self.apps() {
            let n = app.meta().name.as_str();
            f(&["apps", n], &[json, Attribute::ResourceType("alkyl.app")]);
            f(&["apps", n, "run"], &[Attribute::ResourceType("alkyl.run")]);
            f(
                &["apps", n, "result"],
                &[Attribute::Ct(format::TEXT), Attribute::Observable, Attribute::ResourceType("alkyl.result")],
            );
        }
    }
}

/// Exclusive access to a runtime that the CoAP server and the device's main
/// loop (which calls [`Runtime::poll`]) share. On RIOT, implement it for a
/// `&riot_wrappers::mutex::Mutex<Runtime<..>>` (`self.lock()`); single-threaded
/// hosts and tests can use a `&RefCell`.
pub trait Lock {
    type Storage: Storage;
    type Device: Device;

    /// Runs `f` with the runtime locked.
    fn with<R>(&self, f: impl FnOnce(&mut Runtime<Self::Storage, Self::Device>) -> R) -> R;
}

impl<S: Storage, D: Device> Lock for &core::cell::RefCell<Runtime<S, D>> {
    type Storage = S;
    type Device = D;

    fn with<R>(&self, f: impl FnOnce(&mut Runtime<S, D>) -> R) -> R {
        f(&mut self.borrow_mut())
    }
}

/// The CoAP handler of a runtime behind a [`Lock`]: the lock is held while
/// the request is processed (`extract_request_data`), not while the owned
/// response is written.
#[derive(Debug)]
pub struct Shared<L>(pub L);

response_handler!(
    [L: Lock] Shared<L>,
    |shared, request| shared.0.with(|rt| rt.handle(request)),
    |shared| shared.0.with(|rt| rt.links())
);
