//! The hardened middleware's pure pieces: gzip negotiation, weak ETag comparison, problem bodies.

use super::harden::{accepts_gzip, etag_matches};
use axum::http::HeaderName;

use super::*;

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    map
}

#[test]
fn gzip_acceptance() {
    assert!(accepts_gzip(&headers(&[("accept-encoding", "gzip")])));
    assert!(accepts_gzip(&headers(&[(
        "accept-encoding",
        "br;q=1.0, GZIP;q=0.5"
    )])));
    assert!(accepts_gzip(&headers(&[("accept-encoding", "*")])));
    assert!(!accepts_gzip(&headers(&[("accept-encoding", "gzip;q=0")])));
    assert!(!accepts_gzip(&headers(&[(
        "accept-encoding",
        "br, deflate"
    )])));
    assert!(!accepts_gzip(&headers(&[])));
}

#[test]
fn etag_comparison_is_weak_and_handles_lists() {
    let tag = HeaderValue::from_static("\"abc\"");
    assert!(etag_matches(&HeaderValue::from_static("\"abc\""), &tag));
    assert!(etag_matches(&HeaderValue::from_static("W/\"abc\""), &tag));
    assert!(etag_matches(
        &HeaderValue::from_static("\"x\", \"abc\""),
        &tag
    ));
    assert!(etag_matches(&HeaderValue::from_static("*"), &tag));
    assert!(!etag_matches(&HeaderValue::from_static("\"abd\""), &tag));
}

#[test]
fn redirect_keeps_host_and_brackets_ipv6() {
    let uri: Uri = "/a/b?c=d".parse().unwrap();
    let response = redirect_to_https(8443, &headers(&[("host", "[::1]:8080")]), &uri);
    assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        response.headers().get(LOCATION).unwrap(),
        "https://[::1]:8443/a/b?c=d"
    );
    let response = redirect_to_https(443, &headers(&[("host", "example.test")]), &uri);
    assert_eq!(
        response.headers().get(LOCATION).unwrap(),
        "https://example.test/a/b?c=d"
    );
    let response = redirect_to_https(443, &headers(&[]), &uri);
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn problem_body_has_the_documented_shape() {
    assert_eq!(
        problem_body(StatusCode::NOT_FOUND, None),
        r#"{"type":"about:blank","title":"Not Found","status":404}"#
    );
    assert_eq!(
        problem_body(StatusCode::BAD_REQUEST, Some("no \"quotes\"")),
        r#"{"type":"about:blank","title":"Bad Request","status":400,"detail":"no \"quotes\""}"#
    );
}
