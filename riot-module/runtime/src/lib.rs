//! Portable Alkyl device runtime. Not implemented yet (issue 4).
#![no_std]
