//! Find and set the label in an arbitrary XMP packet; set_label output must re-parse.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label::fuzzing::xmp_packet(data));
