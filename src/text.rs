//! Text hygiene shared by every layer: the one way to shorten a value for an evidence line, a log
//! excerpt or an error message.

/// Cuts `text` to at most `max` characters (marking the cut with `…`) and replaces line breaks
/// and other control characters with spaces, so hostile values stay one readable line.
pub fn clip(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 3));
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text_and_marks_the_cut() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("a\nb\x1b[31m", 10), "a b [31m");
        assert_eq!(clip("ééé", 2), "éé…");
        assert_eq!(clip("héllo", 0), "…");
    }
}
