//! "Did you mean" hints for a misspelt config key or rule id, as clap gives for a misspelt flag.

use ddlint_core::registry;

/// The candidate `input` most likely stands for, if one is close enough to be worth naming.
///
/// `_` and `-` are the same character here, and case does not count, so `pg_version` finds
/// `pg-version` and `SET_NOT_NULL` finds `set-not-null`: those are the slips people make most.
/// Close enough means at most a third of the input's characters changed (two for short input),
/// and not all of them, so that a short word is never answered with an unrelated one.
/// On a tie the earlier candidate wins.
pub fn nearest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input = fold(input);
    let length = input.chars().count();
    let limit = (length / 3).max(2);
    candidates
        .into_iter()
        .map(|candidate| (levenshtein(&input, &fold(candidate)), candidate))
        .filter(|&(distance, _)| distance <= limit && distance < length)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// What follows `unknown rule `<id>``: the rule meant, or where to find the rules.
pub fn rule_hint(id: &str) -> String {
    // A former id is matched too, but the current one is what to write.
    let names =
        registry::all().into_iter().flat_map(|rule| std::iter::once(rule.id).chain(rule.aliases.iter().copied()));
    match nearest(id, names).and_then(registry::canonical_id) {
        Some(meant) => format!("(did you mean `{meant}`?)"),
        None => "(see `ddlint rules`)".to_owned(),
    }
}

fn fold(text: &str) -> String {
    text.chars().map(|c| if c == '_' { '-' } else { c.to_ascii_lowercase() }).collect()
}

/// The number of characters to insert, delete or replace to turn `a` into `b`.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // `row[j]` is the distance from the part of `a` read so far to the first `j` characters of `b`.
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb { diagonal } else { 1 + diagonal.min(above).min(row[j]) };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levenshtein_counts_edits() {
        let cases = [
            ("", "", 0),
            ("", "abc", 3),
            ("abc", "", 3),
            ("abc", "abc", 0),
            ("kitten", "sitting", 3),
            ("set-not-nul", "set-not-null", 1),
            ("flaw", "lawn", 2),
            ("ab", "ba", 2),
            // Characters, not bytes.
            ("é", "e", 1),
        ];
        for (a, b, expected) in cases {
            assert_eq!(levenshtein(a, b), expected, "{a:?} → {b:?}");
            assert_eq!(levenshtein(b, a), expected, "{b:?} → {a:?}");
        }
    }

    #[test]
    fn nearest_names_close_candidates_only() {
        let keys = ["pg-version", "fail-on", "format", "history", "enable", "disable", "rules"];
        let cases = [
            ("pg_version", Some("pg-version")),
            ("PG-VERSION", Some("pg-version")),
            ("fail_on", Some("fail-on")),
            ("pgversion", Some("pg-version")),
            ("formt", Some("format")),
            ("rule", Some("rules")),
            // `enable` and `disable` are both within reach: the closer one wins.
            ("enabled", Some("enable")),
            ("disabled", Some("disable")),
            ("colour", None),
            ("foo", None),
            ("x", None),
            ("", None),
        ];
        for (input, expected) in cases {
            assert_eq!(nearest(input, keys), expected, "{input:?}");
        }
    }

    #[test]
    fn a_tie_goes_to_the_first_candidate() {
        assert_eq!(nearest("abcd", ["abce", "abcf"]), Some("abce"));
    }

    #[test]
    fn rule_hints_name_the_current_id() {
        assert_eq!(rule_hint("set-not-nul"), "(did you mean `set-not-null`?)");
        assert_eq!(rule_hint("set_not_null"), "(did you mean `set-not-null`?)");
        assert_eq!(rule_hint("rename-colum"), "(did you mean `rename-column`?)");
        assert_eq!(rule_hint("nope"), "(see `ddlint rules`)");
    }
}
