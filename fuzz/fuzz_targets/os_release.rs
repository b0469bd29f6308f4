//! The os-release parser and the distro decision.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let d = enicfg::distro::parse_os_release(text);
        let _ = enicfg::distro::decide(&d);
    }
});
