//! Findings counted by rule, for the human report's table and the JSON summary.

use ddlint_core::{Diagnostic, FileReport};
use std::collections::BTreeMap;

/// How many findings share a key, and in how many files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub count: usize,
    pub files: usize,
}

/// The findings of `files` counted by `key`, in key order. A file counts once per key however
/// many of its findings share it.
pub fn tally<K: Ord>(files: &[FileReport], key: impl Fn(&Diagnostic) -> K) -> BTreeMap<K, Tally> {
    // The index of the last file that counted towards each key, so that a file counts once.
    let mut counts: BTreeMap<K, (Tally, usize)> = BTreeMap::new();
    for (index, file) in files.iter().enumerate() {
        for diagnostic in &file.diagnostics {
            let (tally, last_file) = counts.entry(key(diagnostic)).or_insert((Tally::default(), usize::MAX));
            tally.count += 1;
            if *last_file != index {
                *last_file = index;
                tally.files += 1;
            }
        }
    }
    counts.into_iter().map(|(key, (tally, _))| (key, tally)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::with_diagnostic;
    use ddlint_core::{Severity, Span};

    fn finding(rule: &'static str) -> Diagnostic {
        Diagnostic::new(rule, Severity::Warning, Span::new(0, 1), "msg")
    }

    #[test]
    fn a_file_counts_once_per_key() {
        let mut a = with_diagnostic("a.sql", "SELECT 1;", finding("rename-column"));
        a.diagnostics.push(finding("rename-column"));
        a.diagnostics.push(finding("drop-table"));
        let b = with_diagnostic("b.sql", "SELECT 1;", finding("rename-column"));
        let counts = tally(&[a, b], |d| d.rule);
        let counts: Vec<_> = counts.into_iter().collect();
        assert_eq!(
            counts,
            [("drop-table", Tally { count: 1, files: 1 }), ("rename-column", Tally { count: 3, files: 2 })]
        );
    }
}
