//! The aliyun metadata parser (forced, as with `--cloud aliyun`), then the model and every backend.
#![no_main]

#[allow(dead_code)]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::metadata(enicfg::source::metadata::Cloud::Aliyun, data);
});
