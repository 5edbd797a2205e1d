//! Detect the format of arbitrary bytes and read every label: must never panic or hang.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label::fuzzing::read_any(data));
