//! Our own input schema (YAML or JSON), then the model and every backend.
#![no_main]

#[allow(dead_code)]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(spec) = enicfg::source::file::parse(text, "fuzz")
    {
        common::through_backends(&spec, true);
    }
});
