//! The source model: byte spans and their 1-based line and column positions.
//!
//! Offsets are byte offsets into the file's text. Columns count characters, not bytes,
//! so a multibyte UTF-8 character is one column. `\n`, `\r\n` and a lone `\r` all end a line.

use serde::Serialize;

/// A half-open byte range `start..end` into a file's text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    pub const fn empty(at: usize) -> Self {
        Self { start: at, end: at }
    }

    pub fn len(self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    pub fn contains(self, offset: usize) -> bool {
        self.start <= offset && offset < self.end
    }

    /// The smallest span covering both.
    pub fn cover(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// A 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Maps byte offsets to positions in O(log n) per lookup.
#[derive(Clone, Debug)]
pub struct LineIndex {
    /// Byte offset at which each line starts; the first is always 0.
    line_starts: Vec<usize>,
    len: usize,
    /// Where the first line's text starts: after a byte order mark, which editors do not
    /// show, so that columns on the first line match theirs.
    text_start: usize,
}

impl Default for LineIndex {
    /// The index of an empty text: one empty line.
    fn default() -> Self {
        Self { line_starts: vec![0], len: 0, text_start: 0 }
    }
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        for at in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            // `\r\n` ends one line, at its `\n`.
            if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') {
                continue;
            }
            line_starts.push(at + 1);
        }
        let text_start = if text.starts_with('\u{FEFF}') { '\u{FEFF}'.len_utf8() } else { 0 };
        Self { line_starts, len: text.len(), text_start }
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// 0-based index of the line holding `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    /// Byte offset where the 0-based `line` starts (on the first line, after a byte order mark).
    pub fn line_start(&self, line: usize) -> usize {
        if line == 0 {
            return self.text_start.min(self.len);
        }
        self.line_starts.get(line).copied().unwrap_or(self.len)
    }

    /// Byte range of the 0-based `line`, without its terminator.
    pub fn line_span(&self, text: &str, line: usize) -> Span {
        let start = self.line_start(line);
        let mut end = self.line_starts.get(line + 1).copied().unwrap_or(self.len);
        let bytes = text.as_bytes();
        while end > start && matches!(bytes[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        Span::new(start, end)
    }

    /// The 1-based position of `offset`. Offsets past the end clamp to the end,
    /// and an offset inside a multibyte character counts as that character.
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let offset = offset.min(text.len());
        let line = self.line_of(offset);
        let start = self.line_start(line).min(offset);
        let column = text.get(start..offset).map_or_else(
            || text.as_bytes()[start..offset].iter().filter(|b| (**b as i8) >= -0x40).count(),
            |prefix| prefix.chars().count(),
        );
        Position { line: line + 1, column: column + 1 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(text: &str, offset: usize) -> (usize, usize) {
        let p = LineIndex::new(text).position(text, offset);
        (p.line, p.column)
    }

    #[test]
    fn lines_and_columns_are_one_based() {
        assert_eq!(pos("ab\ncd", 0), (1, 1));
        assert_eq!(pos("ab\ncd", 3), (2, 1));
        assert_eq!(pos("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn crlf_and_lone_cr_end_lines() {
        assert_eq!(pos("a\r\nb", 3), (2, 1));
        assert_eq!(pos("a\rb\rc", 4), (3, 1));
        let text = "x\r\ny";
        assert_eq!(LineIndex::new(text).line_span(text, 0), Span::new(0, 1));
    }

    #[test]
    fn columns_count_characters() {
        let text = "-- é€\nSELECT";
        assert_eq!(pos(text, "-- é€".len()), (1, 6));
        assert_eq!(pos(text, text.len()), (2, 7));
    }

    #[test]
    fn a_byte_order_mark_is_not_a_column() {
        let text = "\u{FEFF}ALTER TABLE t;\nDROP";
        assert_eq!(pos(text, 3), (1, 1));
        assert_eq!(pos(text, 0), (1, 1));
        assert_eq!(pos(text, 9), (1, 7));
        assert_eq!(LineIndex::new(text).line_span(text, 0), Span::new(3, 17));
        assert_eq!(pos(text, 18), (2, 1));
        assert_eq!(LineIndex::new("\u{FEFF}").line_span("\u{FEFF}", 0), Span::new(3, 3));
    }

    #[test]
    fn empty_index_has_one_line() {
        let index = LineIndex::default();
        assert_eq!(index.position("", 0), Position { line: 1, column: 1 });
        assert_eq!(index.position("", 5), Position { line: 1, column: 1 });
    }

    #[test]
    fn missing_final_newline_keeps_positions() {
        let text = "a;\nb;";
        let index = LineIndex::new(text);
        assert_eq!(index.line_count(), 2);
        assert_eq!(pos(text, 4), (2, 2));
    }
}
