//! The RateLimit header families (IETF `RateLimit`/`RateLimit-Policy`, `RateLimit-*`,
//! `X-RateLimit-*`) with `Retry-After` and `Date`, from a raw header block: never panics, and
//! the wait the burst would sleep is a finite number of seconds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readyprobe::probes::burst::{RateLimitHeaders, parse_http_date};

fuzz_target!(|data: &[u8]| {
    let block = readyprobe_fuzz::text(data);
    let status = readyprobe_fuzz::status(&block, 429);
    let headers = readyprobe_fuzz::headers(&block);
    for (name, value) in &headers {
        if name == "date" || name == "retry-after" {
            let _ = parse_http_date(value);
        }
    }
    let ex = readyprobe_fuzz::exchange(status, headers, String::new());
    let parsed = RateLimitHeaders::parse(&ex);
    if let Some(wait) = parsed.wait_secs() {
        assert!(wait.is_finite() && wait >= 0.0, "wait {wait} from {block:?}");
    }
});
