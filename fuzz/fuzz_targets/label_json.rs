//! Parse arbitrary text as an Annex E label value (both carrier kinds).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label::fuzzing::label_text(data));
