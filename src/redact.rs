//! Redaction of secrets before anything is stored, printed or logged.
//!
//! Probes redact at the moment they record an observation (so recordings, reports and logs never
//! hold a secret); [`Redactor::scrub`] is the last line of defence for free text such as error
//! messages, replacing every configured secret value wherever it appears.

use std::borrow::Cow;

use url::Url;

/// What replaces a secret.
pub const MASK: &str = "***";

/// Header names whose values are always secret.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "x-csrf-token",
    "x-xsrf-token",
];

/// Query parameter names whose values are treated as secret.
const SECRET_PARAMS: &[&str] = &[
    "token",
    "access_token",
    "id_token",
    "refresh_token",
    "api_key",
    "apikey",
    "key",
    "password",
    "passwd",
    "pwd",
    "secret",
    "client_secret",
    "signature",
    "sig",
    "auth",
];

/// True when a header's value must never be shown.
pub fn is_secret_header(name: &str) -> bool {
    SECRET_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// A header value fit for evidence: secret headers masked, `Set-Cookie` values masked.
pub fn header_value<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    if is_secret_header(name) {
        Cow::Borrowed(MASK)
    } else if name.eq_ignore_ascii_case("set-cookie") {
        Cow::Owned(set_cookie(value))
    } else {
        Cow::Borrowed(value)
    }
}

/// A `Set-Cookie` value with the cookie's value masked and its attributes kept
/// (`sid=***; Path=/; HttpOnly`).
pub fn set_cookie(value: &str) -> String {
    let (pair, attrs) = match value.split_once(';') {
        Some((pair, attrs)) => (pair, Some(attrs)),
        None => (value, None),
    };
    let name = pair.split_once('=').map(|(n, _)| n).unwrap_or(pair).trim();
    match attrs {
        Some(attrs) => format!("{name}={MASK};{attrs}"),
        None => format!("{name}={MASK}"),
    }
}

/// A URL fit for evidence: the password and secret-looking query values masked.
pub fn url(url: &Url) -> String {
    let mut clean = url.clone();
    if clean.password().is_some() {
        // Cannot fail for URLs that already carry a password (they have a host).
        let _ = clean.set_password(Some(MASK));
    }
    if clean.query().is_some() {
        let pairs: Vec<(String, String)> = clean
            .query_pairs()
            .map(|(k, v)| {
                let secret = SECRET_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(&k));
                (
                    k.into_owned(),
                    if secret {
                        MASK.to_string()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        if pairs.iter().any(|(_, v)| v == MASK) {
            clean.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    clean.to_string()
}

/// A URL given as text (a DSN from config, which may not parse): the password masked either way.
pub fn url_str(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(parsed) => url(&parsed),
        Err(_) => mask_userinfo(raw),
    }
}

/// Masks `user:password@` in text that looks like a URL but does not parse.
fn mask_userinfo(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://") else {
        return raw.to_string();
    };
    let rest = &raw[scheme_end + 3..];
    // A password that broke the parse may hold an unencoded '/', '?', '#' or '@': the userinfo
    // runs to the last '@' (masking too much beats showing a password).
    match rest.rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split_once(':').map(|(u, _)| u).unwrap_or(userinfo);
            format!("{}://{}:{}{}", &raw[..scheme_end], user, MASK, &rest[at..])
        }
        None => raw.to_string(),
    }
}

/// Replaces known secret values wherever they occur in free text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor with no known secrets (URL passwords are still masked by [`url`]).
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Registers a secret value; values shorter than 4 characters are ignored (masking them would
    /// shred ordinary text). A credential with an auth scheme (`Bearer <token>`, `Basic <b64>`)
    /// registers the bare credential too: a server may echo the token without its scheme.
    pub fn add(&mut self, secret: &str) {
        let secret = secret.trim();
        let credential = secret.split_once(' ').and_then(|(scheme, credential)| {
            let is_scheme = !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            is_scheme.then(|| credential.trim())
        });
        for secret in std::iter::once(secret).chain(credential) {
            if secret.len() >= 4 && !self.secrets.iter().any(|s| s == secret) {
                self.secrets.push(secret.to_string());
            }
        }
        // Longest first, so a secret containing another is masked whole.
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// The text with every registered secret masked.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_password_and_token_query_are_masked() {
        let u =
            Url::parse("postgres://app:hunter2@db:5432/app?sslmode=require&password=x1").unwrap();
        let shown = url(&u);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("x1"), "{shown}");
        assert!(shown.contains("app:***@db"), "{shown}");
        assert!(shown.contains("sslmode=require"), "{shown}");
    }

    #[test]
    fn unparseable_dsn_still_masks_password() {
        assert_eq!(url_str("redis://:s3cret@[bad/0"), "redis://:***@[bad/0");
    }

    #[test]
    fn set_cookie_value_is_masked_attributes_kept() {
        assert_eq!(
            set_cookie("sid=abc123; Path=/; HttpOnly"),
            "sid=***; Path=/; HttpOnly"
        );
        assert_eq!(set_cookie("sid=abc123"), "sid=***");
    }

    #[test]
    fn secret_headers_are_masked_case_insensitively() {
        assert_eq!(header_value("AUTHORIZATION", "Bearer x"), MASK);
        assert_eq!(header_value("content-type", "text/html"), "text/html");
    }

    #[test]
    fn redactor_scrubs_registered_values() {
        let mut r = Redactor::new();
        r.add("tok-abcdef");
        r.add("ab");
        assert_eq!(r.scrub("sent tok-abcdef to ab"), "sent *** to ab");
    }
}
