//! Helpers every judge uses to write evidence lines: the length cap, the one [`clip`], and the
//! header line most HTTP judges quote.

use crate::observations::http::HttpExchange;
pub use crate::text::clip;

/// The longest evidence line the HTTP judges write, in characters.
pub const EVIDENCE_MAX: usize = 400;

/// `GET https://host/ → 200, Name: value` (or `…, no Name header`), clipped.
pub fn header_line(ex: &HttpExchange, name: &str) -> String {
    clip(&ex.header_evidence(name), EVIDENCE_MAX)
}
