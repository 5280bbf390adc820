//! Exit codes, as DESIGN.md defines them, and the one mapping from how a run ended to a code.
//!
//! Every command returns one of these; `audit`, `judge` and each member of a fleet decide theirs
//! with [`for_run`], so the same outcome always exits the same way.

/// The gate passed.
pub const PASSED: u8 = 0;
/// The gate failed (verdict, score, `--fail-on` or `--fail-on-regression`).
pub const GATE_FAILED: u8 = 1;
/// Usage or configuration error.
pub const USAGE: u8 = 2;
/// The target could not be reached at all (or never became ready).
pub const UNREACHABLE: u8 = 3;

/// The exit code of a judged run: [`UNREACHABLE`] when nothing answered, else [`GATE_FAILED`]
/// when any gate failure is listed, else [`PASSED`].
pub fn for_run(reachable: bool, gate_failures: &[String]) -> u8 {
    if !reachable {
        UNREACHABLE
    } else if gate_failures.is_empty() {
        PASSED
    } else {
        GATE_FAILED
    }
}

/// The worst of several codes, for a fleet: unreachable (3) over usage (2) over gate failed (1)
/// over passed (0).
pub fn worst(codes: impl IntoIterator<Item = u8>) -> u8 {
    codes.into_iter().max().unwrap_or(PASSED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_codes() {
        assert_eq!(for_run(false, &[]), UNREACHABLE);
        assert_eq!(for_run(false, &["x".to_string()]), UNREACHABLE);
        assert_eq!(for_run(true, &["x".to_string()]), GATE_FAILED);
        assert_eq!(for_run(true, &[]), PASSED);
        assert_eq!(worst([PASSED, USAGE, GATE_FAILED]), USAGE);
        assert_eq!(worst([]), PASSED);
    }
}
