//! Text hygiene shared by the human-readable renderers: target-supplied text is shown on one
//! line with control characters made visible, so a hostile target cannot slip terminal escape
//! sequences or line breaks into a report someone `cat`s.

use std::borrow::Cow;
use std::fmt::Write;

/// `s` on one line (line breaks become spaces), with control characters made visible.
pub(crate) fn one_line(s: &str) -> String {
    let joined: Vec<Cow<'_, str>> = s.lines().map(visible).collect();
    joined.join(" ")
}

/// `s` with control characters other than tab shown as `\xNN` / `\u{NNNN}` escapes.
pub(crate) fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\t') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() && c != '\t' {
            if (c as u32) < 0x80 {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `75.0 with the 2 waived findings counted`, when waivers took `waived` findings out of a
/// score; `None` when none did (the two numbers are the same).
pub(crate) fn with_waived(waived: usize, score_with_waived: Option<f64>) -> Option<String> {
    let score = score_with_waived?;
    match waived {
        0 => None,
        1 => Some(format!("{score:.1} with the waived finding counted")),
        n => Some(format!("{score:.1} with the {n} waived findings counted")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_line_breaks_are_made_visible() {
        assert_eq!(one_line("a\x1b[31mb\nc"), "a\\x1b[31mb c");
        assert_eq!(visible("\u{85}x"), "\\u{0085}x");
        assert!(matches!(visible("plain\ttext"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_second_score_is_shown_only_when_a_waiver_applied() {
        assert_eq!(with_waived(0, Some(70.0)), None);
        assert_eq!(
            with_waived(2, Some(71.5)).as_deref(),
            Some("71.5 with the 2 waived findings counted")
        );
    }
}
