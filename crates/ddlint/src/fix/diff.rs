//! Unified diffs of a fix plan, as `git diff` prints them, new files included.

use super::Change;
use std::fmt::Write as _;

/// The plan's changes as one unified diff.
pub fn unified(changes: &[Change]) -> String {
    let mut out = String::new();
    for change in changes {
        let path = change.path.to_string_lossy();
        let before = change.before.as_deref().unwrap_or("");
        let diff = similar::TextDiff::from_lines(before, change.after.as_str());
        let old = if change.before.is_some() { format!("a/{path}") } else { "/dev/null".to_owned() };
        let _ = write!(out, "{}", diff.unified_diff().context_radius(3).header(&old, &format!("b/{path}")));
    }
    out
}
