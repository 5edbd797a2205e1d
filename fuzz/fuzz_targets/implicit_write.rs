//! Embed a fixed label into arbitrary bytes; a successful write must read back as that label.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label::fuzzing::write_any(data));
