//! The health-body readers (`checks::health_body`: health+json, Spring Boot Actuator,
//! MicroProfile, .NET, Kubernetes `[+]`/`[-]` text, plain words) and everything the judges ask
//! of what they read: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readyprobe::checks::health_body;

fuzz_target!(|data: &[u8]| {
    let body = readyprobe_fuzz::text(data);
    for media_type in [
        Some("application/health+json"),
        Some("application/json"),
        Some("text/plain"),
        None,
    ] {
        if let Some(parsed) = health_body::parse_text(&body, media_type) {
            let _ = parsed.state();
            let _ = parsed.worst_component();
            let _ = parsed.names();
            let _ = parsed.not_passing(5);
            let _ = parsed.format.as_str();
        }
    }
    let ex = readyprobe_fuzz::exchange(
        200,
        vec![("content-type".into(), "application/json".into())],
        body,
    );
    let _ = health_body::parse(&ex);
});
