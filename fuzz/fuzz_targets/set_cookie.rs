//! Set-Cookie: a header block's `Set-Cookie` lines judged by `cookies.flags` on the root page
//! and an error page, over HTTPS and HTTP; `redact::set_cookie` always masks the value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readyprobe::checks::cookies;
use readyprobe::config::JudgeConfig;
use readyprobe::observations::{ErrorProbe, ErrorProbeKind, Observations, Probed};
use readyprobe::redact;

fuzz_target!(|data: &[u8]| {
    let block = readyprobe_fuzz::text(data);
    let headers = readyprobe_fuzz::headers(&block);
    for (name, value) in &headers {
        if name == "set-cookie" {
            let masked = redact::set_cookie(value);
            assert!(masked.contains(redact::MASK), "{value:?} shown as {masked:?}");
        }
    }
    for https in [true, false] {
        let obs = Observations {
            target: readyprobe_fuzz::target(https),
            root: Probed::Observed(readyprobe_fuzz::exchange(
                200,
                headers.clone(),
                String::new(),
            )),
            errors: vec![ErrorProbe {
                kind: ErrorProbeKind::NotFound,
                exchange: Probed::Observed(readyprobe_fuzz::exchange(
                    404,
                    headers.clone(),
                    String::new(),
                )),
            }],
            ..Observations::default()
        };
        let _ = cookies::flags(&obs, &JudgeConfig::default());
    }
});
