//! Content-Security-Policy and the other root-page header judges over a raw header block:
//! never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readyprobe::checks::headers;
use readyprobe::config::JudgeConfig;
use readyprobe::observations::{Observations, Probed};

fuzz_target!(|data: &[u8]| {
    let block = readyprobe_fuzz::text(data);
    let status = readyprobe_fuzz::status(&block, 200);
    let list = readyprobe_fuzz::headers(&block);
    let obs = Observations {
        target: readyprobe_fuzz::target(true),
        root: Probed::Observed(readyprobe_fuzz::exchange(
            status,
            list,
            "<!doctype html><html></html>".into(),
        )),
        ..Observations::default()
    };
    let cfg = JudgeConfig::default();
    let _ = headers::csp(&obs, &cfg);
    let _ = headers::hsts(&obs, &cfg);
    let _ = headers::frame_options(&obs, &cfg);
    let _ = headers::referrer_policy(&obs, &cfg);
    let _ = headers::permissions_policy(&obs, &cfg);
    let _ = headers::cross_origin(&obs, &cfg);
    let _ = headers::disclosure(&obs, &cfg);
    let _ = headers::deprecated(&obs, &cfg);
    let _ = headers::content_type_options(&obs, &cfg);
});
