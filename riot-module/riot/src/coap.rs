//! The CoAP resources, written against the `coap-handler` 0.2 /
//! `coap-message` 0.3 traits (so the same code would run behind any CoAP
//! server implementing them; on RIOT, gcoap through riot-wrappers).

use alkyl_vm::{Exit, DEFAULT_BUDGET};
use coap_handler::{Attribute, Handler, Reporting};
use coap_handler_implementations::{new_dispatcher, HandlerBuilder, ReportingHandlerBuilder};
use coap_message::{
    Code as _, MessageOption, MinimalWritableMessage, MutableWritableMessage, OptionNumber as _, ReadableMessage,
};
use coap_message_utils::{Error, OptionsExt};
use coap_numbers::{code, option};

use crate::builtin::FLETCHER32;
use crate::execution::{execute, RunError};
use crate::text::TextBuf;

/// The whole resource tree, with `/.well-known/core`. This is the one value
/// `main` registers with gcoap.
pub fn tree() -> impl Handler + Reporting {
    new_dispatcher()
        .at_with_attributes(
            &["alkyl", "run"],
            &[Attribute::ResourceType("alkyl.run"), Attribute::Ct(0)],
            RunResource { program: Program::Builtin(FLETCHER32) },
        )
        .at_with_attributes(
            &["alkyl", "exec"],
            &[Attribute::ResourceType("alkyl.exec"), Attribute::Ct(0)],
            RunResource { program: Program::Posted },
        )
        .with_wkc()
}

/// Which program a POST runs.
#[derive(Clone, Copy)]
enum Program {
    /// This program, over the request payload.
    Builtin(&'static [u8]),
    /// The request payload, over an empty input.
    Posted,
}

/// A resource that runs an eBPF program on POST and answers with its result.
struct RunResource {
    program: Program,
}

/// Longest response payload (a trap or verifier diagnostic).
const MAX_TEXT: usize = 160;

impl Handler for RunResource {
    // The run happens while the request is at hand (its payload is borrowed);
    // only the outcome is kept for the response.
    type RequestData = Result<Exit, RunError>;
    type ExtractRequestError = Error;
    type BuildResponseError<M: MinimalWritableMessage> = M::UnionError;

    fn extract_request_data<M: ReadableMessage>(&mut self, request: &M) -> Result<Self::RequestData, Error> {
        if request.code().into() != code::POST {
            return Err(Error::method_not_allowed());
        }
        // Uri-Host and Uri-Port say how the client reached us, nothing about
        // the request (libcoap sends Uri-Port on non-default ports).
        request.options().ignore_uri_host().filter(|o| o.number() != option::URI_PORT).ignore_elective_others()?;
        Ok(match self.program {
            Program::Builtin(code) => execute(code, request.payload(), DEFAULT_BUDGET),
            Program::Posted => execute(request.payload(), &[], DEFAULT_BUDGET),
        })
    }

    fn estimate_length(&mut self, _: &Self::RequestData) -> usize {
        // Content-Format option and payload marker, then the text.
        4 + MAX_TEXT
    }

    fn build_response<M: MutableWritableMessage>(
        &mut self,
        response: &mut M,
        outcome: Self::RequestData,
    ) -> Result<(), M::UnionError> {
        let (status, text) = match outcome {
            Ok(exit) => (code::CHANGED, TextBuf::<MAX_TEXT>::format(format_args!("{:#x}", exit.r0))),
            Err(e @ (RunError::Verify(_) | RunError::Map(_))) => {
                (code::BAD_REQUEST, TextBuf::format(format_args!("{e}")))
            }
            Err(e @ RunError::Trap(_)) => (code::UNPROCESSABLE_ENTITY, TextBuf::format(format_args!("{e}"))),
        };
        response.set_code(M::Code::new(status).map_err(M::convert_code_error)?);
        response
            .add_option_uint(
                M::OptionNumber::new(option::CONTENT_FORMAT).map_err(M::convert_option_number_error)?,
                0u8, // text/plain; charset=utf-8
            )
            .map_err(M::convert_add_option_error)?;
        response.set_payload(text.as_bytes()).map_err(M::convert_set_payload_error)?;
        Ok(())
    }
}
