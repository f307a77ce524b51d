//! Fingerprints that identify a finding across runs and machines, for the dashboards that
//! keep a finding's history: SARIF's `partialFingerprints` and GitLab Code Quality's
//! `fingerprint`. The recipe is described in `docs/output-formats.md`.

use ddlint_core::Span;
use std::collections::HashMap;

/// FNV-1a, 64 bits: tiny, fixed by its specification, and so the same on every machine and
/// in every release, unlike `std`'s `DefaultHasher`.
#[derive(Clone, Copy)]
pub(crate) struct Fnv1a(pub(crate) u64);

impl Fnv1a {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    pub(crate) fn new() -> Self {
        Self(Self::OFFSET_BASIS)
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    /// Adds the occurrence number and returns the fingerprint.
    pub(crate) fn finish(mut self, occurrence: u64) -> u64 {
        self.write(&[0]);
        self.write(occurrence.to_string().as_bytes());
        self.0
    }
}

/// The fingerprint before its occurrence number: FNV-1a over the rule id, the file's path
/// (or URI) and the statement's text with every run of whitespace collapsed to one space,
/// each followed by a NUL byte.
pub(crate) fn fingerprint_base(rule: &str, path: &str, text: &str, statement: Span) -> Fnv1a {
    let mut hash = Fnv1a::new();
    hash.write(rule.as_bytes());
    hash.write(&[0]);
    hash.write(path.as_bytes());
    hash.write(&[0]);
    let statement = text.get(statement.start..statement.end).unwrap_or("");
    for (i, word) in statement.split_whitespace().enumerate() {
        if i > 0 {
            hash.write(b" ");
        }
        hash.write(word.as_bytes());
    }
    hash
}

/// Numbers the findings of one file that share a rule and a statement text, so that each
/// gets a fingerprint of its own. Make one per file and feed it the findings in order.
#[derive(Default)]
pub(crate) struct Occurrences(HashMap<u64, u64>);

impl Occurrences {
    /// The fingerprint of the next finding of `rule` about `statement` in the file at `path`.
    pub(crate) fn next(&mut self, rule: &str, path: &str, text: &str, statement: Span) -> u64 {
        let base = fingerprint_base(rule, path, text, statement);
        let occurrence = self.0.entry(base.0).or_insert(0);
        let fingerprint = base.finish(*occurrence);
        *occurrence += 1;
        fingerprint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        let hash = |bytes: &[u8]| {
            let mut h = Fnv1a::new();
            h.write(bytes);
            h.0
        };
        assert_eq!(hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn occurrences_number_repeats_only() {
        let text = "SELEC 1;\nSELEC  1;\nSELEC 2;\n";
        let spans = [Span::new(0, 8), Span::new(9, 18), Span::new(19, 27)];
        let mut occurrences = Occurrences::default();
        let prints: Vec<u64> = spans.iter().map(|s| occurrences.next("syntax-error", "a.sql", text, *s)).collect();
        let base = |span| fingerprint_base("syntax-error", "a.sql", text, span);
        // The second statement differs from the first only in whitespace: a repeat.
        assert_eq!(prints, [base(spans[0]).finish(0), base(spans[0]).finish(1), base(spans[2]).finish(0)]);
    }
}
