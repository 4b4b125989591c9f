//! Alkyl benchmark suite. Not implemented yet (issue 6).
