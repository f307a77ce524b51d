//! Positions of findings for the reporters that name lines: 1-based, columns in characters.

use ddlint_core::{FileReport, Position, Span};

/// The 1-based position of `offset` in the file. An unreadable file has no lines at all, so
/// its findings sit at 1:1.
pub(crate) fn position(file: &FileReport, offset: usize) -> Position {
    if file.line_index.line_count() == 0 {
        return Position { line: 1, column: 1 };
    }
    file.line_index.position(&file.text, offset)
}

/// The positions of the span's first and last characters. Line terminators at the end of
/// the span are left out, so that a span running to the end of its line does not spill into
/// the next one; an empty span is its own first and last character.
pub(crate) fn first_and_last(file: &FileReport, span: Span) -> (Position, Position) {
    let start = position(file, span.start);
    let Some(covered) = file.text.get(span.start..span.end) else {
        return (start, start);
    };
    let Some((offset, _)) = covered.trim_end_matches(['\r', '\n']).char_indices().next_back() else {
        return (start, start);
    };
    (start, position(file, span.start + offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddlint_core::{lint_file, Settings};

    fn lines(text: &str, span: Span) -> (usize, usize) {
        let file = lint_file("a.sql", text.as_bytes(), &Settings::default());
        let (first, last) = first_and_last(&file, span);
        (first.line, last.line)
    }

    #[test]
    fn trailing_line_breaks_stay_on_their_line() {
        assert_eq!(lines("SELECT 1;\r\nSELECT 2;\r\n", Span::new(0, 11)), (1, 1));
        assert_eq!(lines("SELECT 1;\nSELECT 2;\n", Span::new(0, 19)), (1, 2));
        assert_eq!(lines("SELECT 1;\n", Span::empty(3)), (1, 1));
    }

    #[test]
    fn unreadable_file_is_at_the_start() {
        let file = lint_file("bin.sql", b"\xff\xfe\0", &Settings::default());
        assert_eq!(first_and_last(&file, Span::new(0, 5)).1, Position { line: 1, column: 1 });
    }
}
