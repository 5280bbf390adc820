//! The metrics exposition parser (Prometheus text format and OpenMetrics): never panics, with
//! the default limits and with limits small enough that every input reaches the cut-off path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readyprobe::exposition::{self, Limits};

fuzz_target!(|data: &[u8]| {
    let body = readyprobe_fuzz::text(data);
    for ct in [
        Some("text/plain; version=0.0.4"),
        Some("application/openmetrics-text; version=1.0.0"),
    ] {
        let e = exposition::parse(&body, ct, Limits::default());
        let _ = e.sample_count();
    }
    let small = Limits {
        max_lines: 16,
        max_series: 8,
    };
    let _ = exposition::parse(&body, None, small).sample_count();
});
