//! Shared by the tests that drive the `alkyl` binary.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// `alkyl ARGS`, its output collected.
pub fn alkyl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alkyl")).args(args).output().expect("run alkyl")
}

/// A path for `name` in this test binary's scratch directory (one per
/// test file and process).
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("alkyl-cli-{}-{}", env!("CARGO_CRATE_NAME"), std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}
