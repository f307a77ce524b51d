//! Checks that the Markdown report keeps file text inside its code fences and each path
//! inside its heading's code span, read back with a CommonMark parser.

use ddlint_core::FileReport;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};

/// What a CommonMark reader found in the report.
#[derive(Debug, Default)]
struct Read {
    /// Each level-2 heading's inline events, as (is code, text).
    headings: Vec<Vec<(bool, String)>>,
    /// Each fenced block's info string and content.
    blocks: Vec<(String, String)>,
}

fn read(markdown: &str) -> Read {
    let mut read = Read::default();
    let mut heading: Option<Vec<(bool, String)>> = None;
    let mut block: Option<(String, String)> = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { level: HeadingLevel::H2, .. }) => heading = Some(Vec::new()),
            Event::End(TagEnd::Heading(HeadingLevel::H2)) => read.headings.extend(heading.take()),
            Event::Start(Tag::CodeBlock(kind)) => {
                let info = match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => "(indented)".to_owned(),
                };
                block = Some((info, String::new()));
            }
            Event::End(TagEnd::CodeBlock) => read.blocks.extend(block.take()),
            Event::Text(text) => {
                if let Some((_, content)) = &mut block {
                    content.push_str(&text);
                } else if let Some(parts) = &mut heading {
                    parts.push((false, text.to_string()));
                }
            }
            Event::Code(text) => {
                if let Some(parts) = &mut heading {
                    parts.push((true, text.to_string()));
                }
            }
            _ => {
                if let Some(parts) = &mut heading {
                    parts.push((false, format!("{event:?}")));
                }
            }
        }
    }
    read
}

/// Text without ASCII whitespace, to compare excerpts whatever their line ends became.
fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_ascii_whitespace()).collect()
}

/// The note `write_sql` ends a cut excerpt with.
fn is_cut_note(line: &str) -> bool {
    line.starts_with("-- … ") && (line.ends_with(" in all)") || line.ends_with(" bytes"))
}

pub fn check_markdown(markdown: &str, files: &[FileReport]) {
    let read = read(markdown);
    let with_findings: Vec<&FileReport> = files.iter().filter(|f| !f.diagnostics.is_empty()).collect();
    assert_eq!(read.headings.len(), with_findings.len(), "one heading per file with findings:\n{markdown}");
    for (parts, file) in read.headings.iter().zip(&with_findings) {
        let expected = file.path.replace(['\r', '\n'], " ");
        assert_eq!(parts, &vec![(true, expected)], "the heading is not the path as one code span:\n{markdown}");
    }

    let excerpts: Vec<&str> = with_findings
        .iter()
        .flat_map(|file| {
            file.diagnostics.iter().map(|d| {
                let span = d.statement.unwrap_or(d.span);
                file.text.get(span.start..span.end).unwrap_or("").trim()
            })
        })
        .filter(|excerpt| !excerpt.is_empty())
        .collect();
    assert_eq!(read.blocks.len(), excerpts.len(), "one code block per excerpt:\n{markdown}");
    for ((info, content), excerpt) in read.blocks.iter().zip(&excerpts) {
        assert_eq!(info, "sql", "a code block without the `sql` info string:\n{markdown}");
        let content = content.trim_end_matches(['\r', '\n']);
        let (shown, cut) = match content.rsplit_once(['\n', '\r']) {
            Some((shown, last)) if is_cut_note(last) => (shown, true),
            _ if is_cut_note(content) => ("", true),
            _ => (content, false),
        };
        let (shown, excerpt) = (squeeze(shown), squeeze(excerpt));
        if cut {
            assert!(excerpt.starts_with(&shown), "a cut excerpt is not the statement's start:\n{markdown}");
        } else {
            assert_eq!(shown, excerpt, "the code block does not hold the whole excerpt:\n{markdown}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_broken_fence() {
        let read = read("## `a.sql`\n\n```sql\nSELECT 1\n```\nDROP\n```\n");
        assert_eq!(read.headings, vec![vec![(true, "a.sql".to_owned())]]);
        assert_eq!(read.blocks.len(), 2);
        assert_eq!(read.blocks[0], ("sql".to_owned(), "SELECT 1\n".to_owned()));
    }

    #[test]
    fn recognises_the_cut_notes() {
        assert!(is_cut_note("-- … 3 more lines not shown (23 in all)"));
        assert!(is_cut_note("-- … cut after 2000 bytes"));
        assert!(!is_cut_note("-- a comment"));
    }
}
