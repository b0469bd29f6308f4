//! The aws metadata parser (forced, as with `--cloud aws`), then the model and every backend.
#![no_main]

#[allow(dead_code)]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::metadata(enicfg::source::metadata::Cloud::Aws, data);
});
