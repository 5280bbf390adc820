//! Finding the passwords in dependency URLs, as written and percent-decoded, so the redactor
//! can mask both forms wherever they appear (a client library's error text, a log line).

use url::Url;

/// The password of a URL as written and percent-decoded (both may appear in error text).
pub fn url_password(raw: &str) -> Vec<String> {
    let Ok(parsed) = Url::parse(raw.trim()) else {
        return Vec::new();
    };
    let Some(password) = parsed.password() else {
        return Vec::new();
    };
    let mut out = vec![password.to_string()];
    if let Ok(decoded) = percent_decode(password)
        && decoded != password
    {
        out.push(decoded);
    }
    out
}

/// Percent-decodes URL userinfo text.
pub fn percent_decode(text: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
