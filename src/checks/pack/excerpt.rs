//! Excerpts of what the target sent, fit for an evidence line: short, on one line, and with
//! secret-looking values masked.
//!
//! A pack that finds an exposed `.env` must show *that* it matched without repeating the
//! credentials it found, so every excerpt goes through [`secret_ranges`] before it is cut. The
//! ranges are found on a window wider than the excerpt (the key name that marks a value as secret
//! may sit just left of the cut), then every masked range that reaches into the excerpt is
//! replaced whole by [`MASK`]. Masking is deliberately eager: hiding a harmless value costs a
//! little clarity, showing a password costs a rotation.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use crate::redact::MASK;

/// Most characters of target text an excerpt shows.
pub(crate) const EXCERPT_CHARS: usize = 80;

/// How far either side of a match the secret scan looks for context.
const CONTEXT_BYTES: usize = 300;

/// Patterns whose first capture group (or whole match, when there is none) is secret.
static SECRETS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // URL userinfo password: scheme://user:PASSWORD@host
        r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:([^\s@/]+)@",
        // NAME=value / "name": "value" where the name says it is secret.
        r#"(?i)[A-Za-z0-9_.\-]*(?:pass|pwd|secret|token|key|credential|auth|private|session|cookie)[A-Za-z0-9_.\-]*["']?[ \t]*[:=][ \t]*["']?([^\s"',;&<>]+)"#,
        // htpasswd / crypt hashes: user:$apr1$salt$HASH, user:{SHA}HASH
        r"\$(?:apr1|2[abxy]|1|5|6)\$([^\s:]+)",
        r"\{SHA\}([A-Za-z0-9+/=]+)",
        // Bearer tokens and JWTs.
        r"(?i)\bbearer\s+([A-Za-z0-9._~+/=\-]+)",
        r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*",
        // AWS access key ids.
        r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

/// Byte ranges of `text` that hold secret-looking values, sorted and merged.
pub(crate) fn secret_ranges(text: &str) -> Vec<Range<usize>> {
    let mut ranges: Vec<Range<usize>> = Vec::new();
    for re in SECRETS.iter() {
        for caps in re.captures_iter(text) {
            if let Some(m) = caps.get(1).or_else(|| caps.get(0))
                && !m.is_empty()
            {
                ranges.push(m.range());
            }
        }
    }
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// The text with every secret-looking value replaced by [`MASK`] (nothing else changed).
pub(crate) fn mask(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for range in secret_ranges(text) {
        out.push_str(&text[at..range.start]);
        out.push_str(MASK);
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// A quoted excerpt of `text` from its start: masked, one line, at most [`EXCERPT_CHARS`].
pub(crate) fn head(text: &str) -> String {
    let window = floor(text, (CONTEXT_BYTES * 2).min(text.len()));
    let ranges = secret_ranges(&text[..window]);
    let (shown, stop) = render(text, 0..window, &ranges, EXCERPT_CHARS);
    quote(&shown, false, stop < text.len())
}

/// A quoted excerpt around `hit` (a byte range of `text`): the line it sits on, starting at the
/// line's beginning when the hit is near it, masked, at most [`EXCERPT_CHARS`].
pub(crate) fn around(text: &str, hit: Range<usize>) -> String {
    let line_start = text[..hit.start].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = text[hit.end..]
        .find('\n')
        .map(|i| hit.end + i)
        .unwrap_or(text.len());
    let win_start = ceil(
        text,
        line_start.max(hit.start.saturating_sub(CONTEXT_BYTES)),
    );
    let win_end = floor(text, line_end.min(hit.end + CONTEXT_BYTES)).max(win_start);
    let ranges: Vec<Range<usize>> = secret_ranges(&text[win_start..win_end])
        .into_iter()
        .map(|r| r.start + win_start..r.end + win_start)
        .collect();
    // Start at the line when the hit is near its beginning, else a little before the hit.
    let from = if hit.start - line_start <= EXCERPT_CHARS / 2 {
        line_start
    } else {
        floor(text, hit.start.saturating_sub(20)).max(win_start)
    };
    let (shown, stop) = render(text, from..win_end, &ranges, EXCERPT_CHARS);
    quote(&shown, from > line_start, stop < line_end)
}

/// `range` of `text` with masked ranges replaced and control characters made visible, at most
/// `max` characters; also returns the byte offset where it stopped.
fn render(text: &str, range: Range<usize>, masked: &[Range<usize>], max: usize) -> (String, usize) {
    let mut out = String::new();
    let mut count = 0;
    let mut i = range.start;
    while i < range.end && count < max {
        if let Some(r) = masked.iter().find(|r| r.start <= i && i < r.end) {
            out.push_str(MASK);
            count += MASK.len();
            i = r.end;
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push(' '),
            '"' => out.push_str("\\\""),
            c if c.is_control() || c == '\u{fffd}' => out.push('.'),
            c => out.push(c),
        }
        count += 1;
        i += c.len_utf8();
    }
    (out, i)
}

fn quote(shown: &str, cut_before: bool, cut_after: bool) -> String {
    format!(
        "\"{}{}{}\"",
        if cut_before { "…" } else { "" },
        shown,
        if cut_after { "…" } else { "" }
    )
}

/// The largest char boundary ≤ `i`.
pub(crate) fn floor(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary ≥ `i`.
fn ceil(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(text: &str, needle: &str) -> Range<usize> {
        let start = text.find(needle).expect("needle");
        start..start + needle.len()
    }

    #[test]
    fn url_password_in_env_line_is_masked() {
        let body = "NODE_ENV=production\nDATABASE_URL=postgres://orders:s3cr3t-pw@db:5432/orders\n";
        let shown = around(body, hit(body, "DATABASE_URL="));
        assert_eq!(
            shown,
            "\"DATABASE_URL=postgres://orders:***@db:5432/orders\""
        );
    }

    #[test]
    fn secret_named_values_are_masked_in_env_and_json() {
        assert_eq!(
            mask("STRIPE_SECRET_KEY=sk_live_abc123"),
            "STRIPE_SECRET_KEY=***"
        );
        assert_eq!(mask("DB_PASSWORD = hunter2"), "DB_PASSWORD = ***");
        assert_eq!(mask("GITHUB_TOKEN: ghp_x1y2"), "GITHUB_TOKEN: ***");
        assert_eq!(
            mask(r#"{"api_key": "abcd", "name": "orders"}"#),
            r#"{"api_key": "***", "name": "orders"}"#
        );
        assert_eq!(mask("PORT=8080"), "PORT=8080");
    }

    #[test]
    fn hashes_keys_and_tokens_are_masked() {
        assert_eq!(mask("admin:$apr1$abc$0123456789abcdef"), "admin:$apr1$***");
        assert_eq!(mask("id = AKIAIOSFODNN7EXAMPLE"), "id = ***");
        assert_eq!(mask("Bearer abc.def"), "Bearer ***");
        assert!(!mask("Authorization: Bearer abc.def").contains("abc.def"));
        assert_eq!(mask("x eyJhbGciOi.eyJzdWIi.sig y"), "x *** y");
    }

    #[test]
    fn secret_left_of_the_cut_is_still_masked() {
        let body = format!(
            "{}DB_PASSWORD=hunter2-very-long-secret-value",
            "x".repeat(100)
        );
        let shown = around(&body, hit(&body, "hunter2"));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains(MASK), "{shown}");
    }

    #[test]
    fn long_lines_are_cut_to_80_chars_with_ellipsis() {
        let body = format!("{}MATCH{}", "a".repeat(200), "b".repeat(200));
        let shown = around(&body, hit(&body, "MATCH"));
        assert!(
            shown.starts_with("\"…") && shown.ends_with("…\""),
            "{shown}"
        );
        assert!(shown.contains("MATCH"));
        assert!(shown.chars().count() <= EXCERPT_CHARS + 4, "{shown}");
    }

    #[test]
    fn binary_bytes_are_shown_as_dots() {
        let body = "\0\0\0\u{1}Bud1\0\u{10}";
        assert_eq!(around(body, hit(body, "Bud1")), "\"....Bud1..\"");
    }

    #[test]
    fn head_quotes_escapes_and_cuts() {
        assert_eq!(head("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        let long = "z".repeat(200);
        let shown = head(&long);
        assert_eq!(shown.chars().count(), EXCERPT_CHARS + 3);
        assert!(shown.ends_with("…\""));
    }
}
