//! Rule documentation rendered from the rules' doc comments: one Markdown page per rule
//! (`rules/<id>.md`) and the rules table of the README.
//!
//! Everything here is a pure function of the registry. `cargo xtask codegen` writes the
//! results to disk and the `tidy` test checks that the files on disk still match them.

use crate::registry;
use crate::rules::RuleMeta;

/// The comment that opens the README's generated rules table.
pub const TABLE_START: &str = "<!-- rules:start -->";
/// The comment that closes the README's generated rules table.
pub const TABLE_END: &str = "<!-- rules:end -->";

/// The Markdown page for one rule, as `rules/<id>.md` holds it.
pub fn rule_page(rule: &RuleMeta) -> String {
    let mut page = format!("# {}\n\n", rule.id);
    page.push_str(&format!("Default severity: `{}` · {}\n", rule.default_severity, default_state(rule)));
    if !rule.aliases.is_empty() {
        let aliases: Vec<String> = rule.aliases.iter().map(|a| format!("`{a}`")).collect();
        page.push_str(&format!("\nAlso known as: {}\n", aliases.join(", ")));
    }
    page.push('\n');
    // `/// text` reaches the macro as the doc string ` text`: drop that one space.
    for line in rule.docs.lines() {
        page.push_str(line.strip_prefix(' ').unwrap_or(line));
        page.push('\n');
    }
    while page.ends_with("\n\n") {
        page.pop();
    }
    page
}

/// The Markdown table of every rule, for the README.
pub fn rules_table() -> String {
    let mut table =
        String::from("| Rule | Default severity | Default | Fix | Summary |\n| --- | --- | --- | --- | --- |\n");
    for rule in registry::all() {
        let default = if rule.default_enabled { "on" } else { "opt-in" };
        table.push_str(&format!(
            "| [`{id}`](rules/{id}.md) | {severity} | {default} | {fix} | {summary} |\n",
            id = rule.id,
            fix = rule.fix.map_or("", |a| a.as_str()),
            severity = rule.default_severity,
            summary = summary(rule).replace('|', "\\|"),
        ));
    }
    table
}

/// The first sentence under `## What it does`, with its wrapped lines joined.
///
/// Unlike [`RuleMeta::summary`], which returns the first line only, this follows a sentence
/// that the doc comment wraps over several lines.
pub fn summary(rule: &RuleMeta) -> String {
    let body = rule.docs.split("## What it does").nth(1).unwrap_or(rule.docs);
    let paragraph: Vec<&str> = body
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let paragraph = paragraph.join(" ");
    match paragraph.find(". ") {
        Some(end) => paragraph[..=end].to_owned(),
        None => paragraph,
    }
}

/// `text` with whatever stands between [`TABLE_START`] and [`TABLE_END`] replaced by
/// `content`, or `None` when the markers are missing or out of order.
pub fn replace_between_markers(text: &str, content: &str) -> Option<String> {
    let start = text.find(TABLE_START)? + TABLE_START.len();
    let end = start + text[start..].find(TABLE_END)?;
    Some(format!("{}\n{}{}", &text[..start], content, &text[end..]))
}

fn default_state(rule: &RuleMeta) -> &'static str {
    if rule.default_enabled {
        "on by default"
    } else {
        "opt-in (off by default)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Severity;

    static SAMPLE: RuleMeta = RuleMeta {
        id: "sample-rule",
        aliases: &["old-sample"],
        default_severity: Severity::Warning,
        default_enabled: false,
        docs: " ## What it does\n Flags a thing that wraps\n over two lines. And more.\n\n ## Example\n ```sql\n SELECT 1;\n ```\n",
        check: None,
        check_file: None,
        fix: None,
    };

    #[test]
    fn page_strips_one_space_per_line() {
        assert_eq!(
            rule_page(&SAMPLE),
            "# sample-rule\n\nDefault severity: `warning` · opt-in (off by default)\n\nAlso known as: `old-sample`\n\n\
             ## What it does\nFlags a thing that wraps\nover two lines. And more.\n\n## Example\n```sql\nSELECT 1;\n```\n"
        );
    }

    #[test]
    fn summary_joins_the_first_sentence() {
        assert_eq!(summary(&SAMPLE), "Flags a thing that wraps over two lines.");
    }

    #[test]
    fn table_links_every_rule() {
        let table = rules_table();
        assert_eq!(table.lines().count(), registry::all().len() + 2);
        assert!(table.contains("| [`rename-column`](rules/rename-column.md) | warning | on | "));
    }

    #[test]
    fn markers_are_replaced_in_place() {
        let readme = "intro\n<!-- rules:start -->\nold\n<!-- rules:end -->\nrest\n";
        assert_eq!(
            replace_between_markers(readme, "| new |\n").as_deref(),
            Some("intro\n<!-- rules:start -->\n| new |\n<!-- rules:end -->\nrest\n")
        );
        assert_eq!(replace_between_markers("no markers", "x"), None);
        assert_eq!(replace_between_markers("<!-- rules:end --> <!-- rules:start -->", "x"), None);
    }
}
