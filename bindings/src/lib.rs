//! The helper ABI that Alkyl scripts call. Not implemented yet (issue 3).
#![no_std]
