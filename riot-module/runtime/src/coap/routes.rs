//! The resources of the API and what each method does. The table is in
//! `docs/coap-api.md`.

use alloc::string::String;
use alloc::vec::Vec;

use alkyl_vm::describe::{Dec2, Hex};
use coap_handler::Attribute;
use coap_message::ReadableMessage;
use coap_numbers::code;

use super::json;
use super::message::{format, Request, Response};
use super::Block;
use crate::app::{Cause, LastRun, TrapText};
use crate::device::Device;
use crate::envelope::Operation;
use crate::error::{Expect, Rejection};
use crate::name::{check_entry_name, AppName};
use crate::runtime::{Applied, Runtime};
use crate::storage::Storage;
use crate::upload::Progress;

impl From<Rejection> for Response {
    fn from(r: Rejection) -> Response {
        let mut resp = Response::text(r.code(), &r);
        resp.size1 = r.size1().and_then(|s| u32::try_from(s).ok());
        resp
    }
}

/// `GET /apps/NAME/result`: the last result as text ending with a newline
/// (`0x2a`, `error: …`), or the payload the script built, as built.
fn result_line(run: &crate::app::LastRun) -> Vec<u8> {
    let mut text = run.result_text();
    if run.outcome.as_ref().map_or(true, |out| out.response.is_none()) {
        text.push(b'\n');
    }
    text
}

fn method_not_allowed() -> Response {
    Response::text(code::METHOD_NOT_ALLOWED, "method not allowed on this resource")
}

impl<S: Storage, D: Device> Runtime<S, D> {
    /// Answers one request. Never panics; every refusal is a response.
    pub fn handle<M: ReadableMessage>(&mut self, m: &M) -> Response {
        let req = match Request::parse(m) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let resp = self.route(&req, m.payload());
        let success = resp.code >> 5 == 2;
        if success && req.accept.is_some_and(|a| Some(a) != resp.content_format) {
            return Response::text(code::NOT_ACCEPTABLE, "only the documented content format is available");
        }
        if success && req.code == code::GET {
            resp.into_block(req.block2, self.config.max_response_payload)
        } else {
            resp
        }
    }

    fn route(&mut self, req: &Request, payload: &[u8]) -> Response {
        let path: Vec<&str> = req.path.iter().map(String::as_str).collect();
        let get = req.code == code::GET;
        match (path.as_slice(), req.code) {
            ([".well-known", "core"], code::GET) => {
                Response::with(code::CONTENT, format::LINK_FORMAT, self.link_format())
            }
            (["apps"], code::GET) => Response::with(code::CONTENT, format::JSON, json::app_list(self.store.iter())),
            (["apps", name], code::GET) => match self.named(name) {
                Ok(app) => Response::with(code::CONTENT, format::JSON, json::app_detail(app)),
                Err(r) => r.into(),
            },
            (["apps", name], code::PUT) => self.mutate(req, payload, name, Operation::Install),
            (["apps", name], code::DELETE) => self.mutate(req, payload, name, Operation::Delete),
            (["apps", name, "triggers"], code::PUT) => self.mutate(req, payload, name, Operation::SetTriggers),
            // A run's input is one message: a block of a larger one would run
            // the script on part of it.
            (["apps", _, "run"] | ["apps", _, "run", _], code::POST)
                if req.block1.is_some_and(|b| b.num != 0 || b.more) =>
            {
                let mut r = Response::text(code::REQUEST_ENTITY_TOO_LARGE, "a run's input must fit one message");
                r.size1 = Some(payload.len() as u32);
                r
            }
            (["apps", name, "run"], code::POST) => self.run(name, None, payload),
            (["apps", name, "run", entry], code::POST) => self.run(name, Some(entry), payload),
            (["invoke"] | ["time"], code::POST) if req.block1.is_some_and(|b| b.num != 0 || b.more) => {
                let mut r = Response::text(code::REQUEST_ENTITY_TOO_LARGE, "a signed command must fit one message");
                r.size1 = Some(self.config.max_command_bytes as u32);
                r
            }
            (["invoke"], code::POST) => {
                let now = self.device.now_ms();
                match self.invoke_signed(payload, now) {
                    Ok((_, run)) => run_response(run),
                    Err(r) => r.into(),
                }
            }
            (["time"], code::POST) => {
                let now = self.device.now_ms();
                match self.set_time(payload, now) {
                    Ok(unix_ms) => Response::text(code::CHANGED, unix_ms),
                    Err(r) => r.into(),
                }
            }
            (["time"], code::GET) => {
                let now = self.device.now_ms();
                match self.unix_ms(now) {
                    Some(ms) => Response::text(code::CONTENT, ms),
                    None => Response::text(code::NOT_FOUND, "the clock is not set"),
                }
            }
            (["auth"], code::GET) => Response::with(code::CONTENT, format::JSON, json::auth(self)),
            (["reports"], code::GET) => Response::with(code::CONTENT, format::JSON, json::reports(&self.reports)),
            (["apps", name, "result"], code::GET) => match self.named(name) {
                Ok(app) => {
                    let text = app.stats().last.as_ref().map(result_line).unwrap_or_default();
                    Response::with(code::CONTENT, format::TEXT, text)
                }
                Err(r) => r.into(),
            },
            (["sensors"], code::GET) => {
                let readings = self.sensors();
                Response::with(code::CONTENT, format::JSON, json::sensors(&readings))
            }
            (
                [".well-known", "core"]
                | ["apps"]
                | ["apps", _, "result"]
                | ["sensors"]
                | ["invoke"]
                | ["time"]
                | ["auth"]
                | ["reports"],
                _,
            ) => method_not_allowed(),
            (["apps", _] | ["apps", _, "triggers"] | ["apps", _, "run"] | ["apps", _, "run", _], _) => {
                method_not_allowed()
            }
            _ if get || !path.is_empty() => Response::text(code::NOT_FOUND, "no such resource"),
            _ => method_not_allowed(),
        }
    }

    fn named(&self, name: &str) -> Result<&crate::App, Rejection> {
        let name = AppName::new(name.as_bytes()).map_err(Rejection::BadName)?;
        self.store.get(&name).ok_or(Rejection::NoApp { sequence: self.store.sequence_of(&name) })
    }

    /// A signed change, maybe block-wise.
    fn mutate(&mut self, req: &Request, payload: &[u8], name: &str, operation: Operation) -> Response {
        let name = match AppName::new(name.as_bytes()) {
            Ok(n) => n,
            Err(e) => return Rejection::BadName(e).into(),
        };
        if !self.authority.accepts_changes() {
            // Refuse before buffering anything.
            return Rejection::Auth(crate::AuthError::MutationsDisabled).into();
        }
        let body = match req.block1 {
            Some(block) => {
                if block.num == 0 && block.more {
                    if let Err(e) = crate::upload::check_first_block(&self.authority, payload) {
                        return Rejection::Upload(e).into();
                    }
                }
                let now = self.device.now_ms();
                let peer = super::message::fnv1a(self.peer.max(1), &req.request_tag.to_le_bytes());
                match self.uploads.block(&req.path_string(), peer, block, payload, req.size1, now) {
                    Ok(Progress::Continue) => {
                        let mut r = Response::empty(code::CONTINUE);
                        r.block1 = Some(Block { more: true, ..block });
                        return r;
                    }
                    Ok(Progress::Complete(body)) => body,
                    Err(e) => return Rejection::Upload(e).into(),
                }
            }
            None => payload.to_vec(),
        };
        let mut resp = match self.apply(&body, Expect { operation, name: &name }) {
            Ok(Applied::Installed { version, replaced }) => {
                let (c, verb) = if replaced { (code::CHANGED, "replaced") } else { (code::CREATED, "installed") };
                Response::text(c, (verb, " ", &name, " version ", version))
            }
            Ok(Applied::Deleted) => Response::text(code::DELETED, ("deleted ", &name)),
            Ok(Applied::TriggersSet) => Response::text(code::CHANGED, ("triggers of ", &name, " set")),
            Err(r) => r.into(),
        };
        if let Some(b) = req.block1 {
            resp.block1 = Some(Block { more: false, ..b });
        }
        resp
    }

    fn run(&mut self, name: &str, entry: Option<&str>, payload: &[u8]) -> Response {
        let name = match AppName::new(name.as_bytes()) {
            Ok(n) => n,
            Err(e) => return Rejection::BadName(e).into(),
        };
        if self.store.get(&name).is_none() {
            return Rejection::NoApp { sequence: self.store.sequence_of(&name) }.into();
        }
        if entry.is_some_and(|e| check_entry_name(e.as_bytes()).is_err()) {
            return Rejection::NoEntry.into();
        }
        let entry = entry.map(str::as_bytes);
        match self.store.get(&name) {
            None => return Rejection::NoApp { sequence: self.store.sequence_of(&name) }.into(),
            // A protected entry runs only from a signed invocation (`POST /invoke`).
            Some(app) if !app.meta().is_open(entry) => return Rejection::Unauthenticated.into(),
            Some(_) => {}
        }
        let now = self.device.now_ms();
        match self.invoke(&name, entry, payload, Cause::Coap, true, now) {
            Ok(run) => run_response(run),
            Err(r) => r.into(),
        }
    }

    /// `/.well-known/core` (RFC 6690) from the [`coap_handler::Reporting`] records.
    fn link_format(&self) -> Vec<u8> {
        // Written by hand from the resource list, not through the
        // `Reporting` records and `write!`: less code (`make bench-size`).
        let mut s = Vec::new();
        self.resources(|path, attributes| {
            if !s.is_empty() {
                s.push(b',');
            }
            s.push(b'<');
            for seg in path {
                s.push(b'/');
                s.extend_from_slice(seg.as_bytes());
            }
            s.push(b'>');
            for attr in attributes {
                let (name, text, number) = match *attr {
                    Attribute::Observable => (";obs", None, None),
                    Attribute::ResourceType(r) => (";rt=", Some(r), None),
                    Attribute::Interface(r) => (";if=", Some(r), None),
                    Attribute::Title(r) => (";title=", Some(r), None),
                    Attribute::Ct(c) => (";ct=", None, Some(c as u64)),
                    Attribute::Sz(z) => (";sz=", None, Some(z as u64)),
                    _ => continue,
                };
                s.extend_from_slice(name.as_bytes());
                if let Some(t) = text {
                    s.push(b'"');
                    s.extend_from_slice(t.as_bytes());
                    s.push(b'"');
                }
                if let Some(n) = number {
                    json::dec(&mut s, n);
                }
            }
        });
        s
    }
}

/// The response to a run: the script's own, `r0` as text, or the trap.
fn run_response(run: LastRun) -> Response {
    match run.outcome {
        Ok(out) => match out.response {
            // A script may answer with any response code, not a method or
            // an empty message.
            Some(b) if matches!(b.code >> 5, 2 | 4 | 5) => {
                Response { content_format: b.content_format, payload: b.payload, ..Response::empty(b.code) }
            }
            Some(b) => Response::text(
                code::INTERNAL_SERVER_ERROR,
                ("the script built a response with code ", b.code >> 5, ".", Dec2(b.code & 0x1f)),
            ),
            // A script's own payload is sent as built; a plain-text
            // result ends with a newline, as every text answer does.
            None => Response::text(code::CONTENT, Hex(out.r0)),
        },
        Err(trap) => Response::text(code::INTERNAL_SERVER_ERROR, TrapText { trap: &trap, kind: run.kind }),
    }
}
