//! The first byte picks a registered format (modulo the registry size), the rest is read and
//! written by that format directly: covers formats added after these targets were written.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((format, rest)) = aigc_label::fuzzing::pick_format(data) {
        aigc_label::fuzzing::format_roundtrip(format, rest);
    }
});
