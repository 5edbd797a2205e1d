//! The heif parser, called directly (no sniffing): read, write, and a written label reads back.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let format = aigc_label::implicit::format_by_name("heif").expect("registered format");
    aigc_label::fuzzing::format_roundtrip(format, data);
});
