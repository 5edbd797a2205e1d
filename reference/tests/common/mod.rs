//! Helpers shared by the integration tests (each test file includes this module).
#![allow(dead_code)] // not every test file uses every helper

use aigc_label::implicit::{embed_path, read_path, EmbedOptions, ReadReport};
use aigc_label::io::Overwrite;
use aigc_label::Profile;
use std::path::Path;

/// Embed the label JSON `json` into a copy of `input` at `output` (replacing it), or panic
/// naming the input.
pub fn embed(input: &Path, output: &Path, json: &str) {
    let options = EmbedOptions {
        overwrite: Overwrite::Replace,
        durability: Default::default(),
    };
    embed_path(input, output, json, options)
        .unwrap_or_else(|e| panic!("embed {}: {e}", input.display()));
}

/// Read a file's labels with the built-in profile, or panic naming the file.
pub fn read(path: &Path) -> ReadReport {
    read_path(path, &Profile::builtin()).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}
