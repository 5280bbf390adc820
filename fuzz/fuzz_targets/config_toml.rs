//! The TOML configuration loader and its validation: never panics (errors are fine).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cfg) = readyprobe::config::load::from_str(doc, "fuzz.toml") {
        let _ = cfg.validate("fuzz.toml");
    }
});
