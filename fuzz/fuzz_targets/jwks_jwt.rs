//! JWKS documents and JWTs: the `auth.jwks` judge, the key-confusion secret, the claims reader
//! and the forged tokens. The input is a token on the first line and a JWKS document after it
//! (either may be junk): never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readyprobe::checks::auth;
use readyprobe::config::JudgeConfig;
use readyprobe::observations::{Observations, Probed};
use readyprobe::probes::access::{self, JwksObservation};
use serde_json::Value;

/// 2026-01-01T00:00:00Z: a fixed "now", so a crash reproduces.
const NOW: u64 = 1_767_225_600;

fuzz_target!(|data: &[u8]| {
    let input = readyprobe_fuzz::text(data);
    let (token, rest) = input.split_once('\n').unwrap_or((input.as_str(), ""));
    let token = token.trim();
    let _ = access::claims_of(token);
    let jwks: Option<Value> = serde_json::from_str(rest).ok();
    let _ = access::forged_tokens(NOW, Some(token), jwks.as_ref());
    let _ = access::forged_tokens(NOW, None, jwks.as_ref());
    if let Some(jwks) = jwks {
        let _ = access::confusion_secret(&jwks);
        let obs = Observations {
            target: readyprobe_fuzz::target(true),
            jwks: Probed::Observed(JwksObservation {
                discovery_url: Some(
                    "https://app.example.test/.well-known/openid-configuration".into(),
                ),
                jwks_url: "https://app.example.test/.well-known/jwks.json".into(),
                jwks,
            }),
            ..Observations::default()
        };
        let _ = auth::jwks(&obs, &JudgeConfig::default());
    }
});
