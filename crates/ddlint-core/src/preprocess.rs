//! Text that PostgreSQL's grammar does not read is masked before parsing: psql meta-commands,
//! the data rows that follow psql's `COPY … FROM stdin`, a byte-order mark, and templating
//! placeholders (Flyway `${x}`, psql `:var`, `:'var'` and `:"var"`, Go templates `{{ … }}`, and
//! the patterns a project configures). Masking swaps bytes for spaces, for a neutral identifier
//! or literal of the same length, or for a `;` where psql would end the statement, so every
//! byte offset in the masked text is the same as in the original file.

use crate::source::Span;
use serde::Deserialize;
use std::fmt;

/// Something psql reads that is not SQL, and that was masked: a meta-command such as
/// `\set ON_ERROR_STOP on`, or `COPY … FROM stdin` data that never ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaCommand {
    pub span: Span,
    /// The command word without its backslash: `set`, `i`, `connect`…; `copy` for COPY data.
    pub name: String,
    pub kind: MetaKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaKind {
    /// A backslash command, which psql runs itself.
    Command,
    /// A `COPY … FROM stdin` (or `\copy … from stdin`) whose data has no `\.` line to end it,
    /// so the rest of the file was read as data; `span` is the `COPY` statement.
    UnterminatedCopyData,
}

impl MetaCommand {
    /// What the `psql-meta-command` note says about it.
    pub fn message(&self) -> String {
        match self.kind {
            MetaKind::Command => format!("psql meta-command `\\{}` is not SQL and was skipped", self.name),
            MetaKind::UnterminatedCopyData => {
                "`COPY … FROM stdin` has no `\\.` line to end its data, so the rest of the file was read as data and not linted"
                    .to_owned()
            }
        }
    }
}

#[derive(Debug)]
pub struct Masked {
    pub text: String,
    pub meta_commands: Vec<MetaCommand>,
    /// Offsets just past each `;` outside quotes, comments and dollar quotes, in order:
    /// where a statement may end, so where a large file may be cut for parsing in pieces.
    pub semicolons: Vec<usize>,
}

/// A templating placeholder that a migration runner substitutes before the SQL reaches the
/// server, given as a pattern in which `*` stands for the placeholder's name: `{{*}}` matches
/// `{{table_prefix}}`, `$%*%$` matches `$%AUTO_INCREMENT_PRIMARY_KEY%$`.
///
/// The name is one or more characters on one line, up to the first occurrence of the text
/// after the `*`, and never holds a `;`. When nothing follows the `*` (`@@*`), the name is a
/// run of letters, digits and underscores. Like Flyway's `${x}`, a placeholder is masked
/// outside quotes and comments only.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Placeholder {
    prefix: String,
    suffix: String,
}

impl Placeholder {
    /// Reads a pattern, or says what is wrong with it.
    pub fn new(pattern: &str) -> Result<Self, String> {
        const EXAMPLE: &str = "such as `{{*}}` for `{{table_prefix}}`";
        if pattern.is_empty() {
            return Err(format!("placeholder pattern is empty: write `*` where the name goes, {EXAMPLE}"));
        }
        let Some((prefix, suffix)) = pattern.split_once('*') else {
            return Err(format!("placeholder pattern `{pattern}` has no `*` where the name goes, {EXAMPLE}"));
        };
        if suffix.contains('*') {
            return Err(format!("placeholder pattern `{pattern}` has more than one `*`: one `*` stands for the name"));
        }
        if prefix.is_empty() {
            return Err(format!("placeholder pattern `{pattern}` needs text before the `*`, {EXAMPLE}"));
        }
        if pattern.chars().any(|c| c.is_whitespace() || matches!(c, '\'' | '"' | ';')) {
            return Err(format!("placeholder pattern `{pattern}` holds a space, a quote or a `;`, which it may not"));
        }
        if prefix.starts_with("--") || prefix.starts_with("/*") {
            return Err(format!("placeholder pattern `{pattern}` starts like an SQL comment"));
        }
        Ok(Self { prefix: prefix.to_owned(), suffix: suffix.to_owned() })
    }

    /// The length of the placeholder at `at` in `bytes`, if there is one.
    fn len_at(&self, bytes: &[u8], at: usize) -> Option<usize> {
        let prefix = self.prefix.as_bytes();
        if !bytes[at..].starts_with(prefix) {
            return None;
        }
        // A pattern that starts like an identifier must not match inside a longer one.
        if is_ident_byte(Some(prefix[0])) && at > 0 && is_ident_byte(Some(bytes[at - 1])) {
            return None;
        }
        let name_start = at + prefix.len();
        let rest = &bytes[name_start..];
        if self.suffix.is_empty() {
            let name = rest.iter().take_while(|b| is_ident_byte(Some(**b))).count();
            // With a pattern such as `$*`, `$body$` opens a dollar quote; it is no placeholder.
            return (name > 0 && rest.get(name) != Some(&b'$')).then_some(prefix.len() + name);
        }
        let line = rest.iter().position(|b| matches!(b, b'\n' | b'\r' | b';')).unwrap_or(rest.len());
        if line < 1 {
            return None;
        }
        let name = 1 + find(&rest[1..line], self.suffix.as_bytes())?;
        Some(prefix.len() + name + self.suffix.len())
    }
}

impl TryFrom<String> for Placeholder {
    type Error = String;

    fn try_from(pattern: String) -> Result<Self, String> {
        Self::new(&pattern)
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}*{}", self.prefix, self.suffix)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Normal,
    SingleQuote { backslash_escapes: bool },
    DoubleQuote,
    LineComment,
    BlockComment { depth: usize },
}

/// Masks what the server's grammar must not see. The lexical states follow psql's own
/// scanner: a backslash outside quotes and comments starts a meta-command that runs to the
/// end of the line.
pub fn mask(original: &str) -> Masked {
    mask_with(original, &[])
}

/// [`mask`], with the project's own placeholder patterns masked too.
pub fn mask_with(original: &str, placeholders: &[Placeholder]) -> Masked {
    let mut bytes = original.as_bytes().to_vec();
    let mut meta_commands = Vec::new();
    let mut semicolons = Vec::new();
    if bytes.starts_with("\u{FEFF}".as_bytes()) {
        bytes[..3].fill(b' ');
    }
    // The first bytes of the placeholder patterns, where the scan must stop in normal text.
    let starts = (!placeholders.is_empty()).then(|| {
        let mut starts = [false; 256];
        for placeholder in placeholders {
            starts[usize::from(placeholder.prefix.as_bytes()[0])] = true;
        }
        starts
    });
    let mut state = State::Normal;
    let mut dollar_tag: Option<Vec<u8>> = None;
    // Inside `[…]` a colon is an array slice, not a psql variable.
    let mut bracket_depth = 0usize;
    // Where the statement being read began: just past the `;` that ended the one before.
    let mut statement_start = 0usize;
    // psql reads the data of `COPY … FROM stdin` line by line after sending the statement,
    // so it starts on the line after the statement's `;`. Until the scan gets there, this is
    // where it starts and the statements it belongs to (more than one only when several
    // share a line), whose spans the note about an unended block points at.
    let mut copy_data: Option<(usize, Vec<Span>)> = None;
    let mut i = 0;
    while i < bytes.len() {
        if let Some((at, copies)) = copy_data.take_if(|(at, _)| i >= *at) {
            i = at;
            for copy in copies {
                let (end, ended) = mask_copy_data(&mut bytes, i);
                if !ended && original.as_bytes()[i..end].iter().any(|b| !b.is_ascii_whitespace()) {
                    meta_commands.push(MetaCommand {
                        span: copy,
                        name: "copy".to_owned(),
                        kind: MetaKind::UnterminatedCopyData,
                    });
                }
                i = end;
            }
            statement_start = i;
            continue;
        }
        // Stop where COPY data starts, whatever the state.
        let limit = copy_data.as_ref().map_or(bytes.len(), |(at, _)| *at);
        if let Some(tag) = &dollar_tag {
            let Some(at) = memchr::memchr(b'$', &bytes[i..limit]) else {
                i = limit;
                continue;
            };
            i += at;
            if bytes[i..].starts_with(tag) {
                i += tag.len();
                dollar_tag = None;
            } else {
                i += 1;
            }
            continue;
        }
        // Most bytes change nothing in any state: go straight to the next one that may.
        let Some(at) = next_significant(&bytes[i..limit], state, starts.as_ref()) else {
            i = limit;
            continue;
        };
        i += at;
        let b = bytes[i];
        if state == State::Normal && starts.is_some_and(|starts| starts[usize::from(b)]) {
            if let Some(len) = placeholders.iter().find_map(|p| p.len_at(&bytes, i)) {
                fill_identifier(&mut bytes[i..i + len]);
                i += len;
                continue;
            }
        }
        match state {
            State::Normal => match b {
                b'\'' => {
                    let escapes = i > 0
                        && matches!(bytes[i - 1], b'e' | b'E')
                        && !is_ident_byte(bytes.get(i.wrapping_sub(2)).copied());
                    state = State::SingleQuote { backslash_escapes: escapes };
                }
                b'"' => state = State::DoubleQuote,
                b'-' if bytes.get(i + 1) == Some(&b'-') => {
                    state = State::LineComment;
                    i += 1;
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    state = State::BlockComment { depth: 1 };
                    i += 1;
                }
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    // Flyway placeholder `${name}`.
                    if let Some(close) = bytes[i..].iter().position(|c| *c == b'}' || *c == b'\n') {
                        if bytes[i + close] == b'}' {
                            fill_identifier(&mut bytes[i..=i + close]);
                            i += close + 1;
                            continue;
                        }
                    }
                }
                b'$' if i == 0 || !is_ident_byte(Some(bytes[i - 1])) => {
                    if let Some(len) = dollar_tag_len(&bytes[i..]) {
                        dollar_tag = Some(bytes[i..i + len].to_vec());
                        i += len;
                        continue;
                    }
                }
                b'{' if bytes.get(i + 1) == Some(&b'{') => {
                    if let Some(len) = find(&bytes[i..], b"}}") {
                        let end = i + len + 2;
                        mask_go_action(&mut bytes[i..end]);
                        i = end;
                        continue;
                    }
                }
                b';' => {
                    semicolons.push(i + 1);
                    if let Some(copy) = copy_from_stdin(&bytes[statement_start..i]) {
                        let copy = Span::new(statement_start + copy, i + 1);
                        queue_copy_data(&mut copy_data, &bytes, i + 1, copy);
                    }
                    statement_start = i + 1;
                }
                b'[' => bracket_depth += 1,
                b']' => bracket_depth = bracket_depth.saturating_sub(1),
                b':' if bracket_depth == 0 && (i == 0 || bytes[i - 1] != b':') => {
                    if let Some(len) = psql_variable_len(&bytes[i..]) {
                        mask_psql_variable(&mut bytes[i..i + len]);
                        i += len;
                        continue;
                    }
                }
                b'\\' => {
                    let end = bytes[i..].iter().position(|c| matches!(c, b'\n' | b'\r')).map_or(bytes.len(), |p| i + p);
                    let name: String =
                        original[i + 1..end].chars().take_while(|c| !c.is_whitespace() && *c != '\\').collect();
                    let span = Span::new(i, end);
                    // `\copy … from stdin` reads its data from the script too, as `COPY` does.
                    if name == "copy" && copy_from_stdin(&original.as_bytes()[i + 1..end]).is_some() {
                        queue_copy_data(&mut copy_data, &bytes, end, span);
                    }
                    meta_commands.push(MetaCommand { span, name: name.clone(), kind: MetaKind::Command });
                    bytes[i..end].fill(b' ');
                    // `\g` and its variants send the query buffer, so they end a statement.
                    if name.starts_with('g') || name.is_empty() && original[i..].starts_with("\\;") {
                        bytes[i] = b';';
                        if let Some(copy) = copy_from_stdin(&bytes[statement_start..i]) {
                            let copy = Span::new(statement_start + copy, end);
                            queue_copy_data(&mut copy_data, &bytes, end, copy);
                        }
                        statement_start = i + 1;
                    }
                    i = end;
                    continue;
                }
                _ => {}
            },
            // A Go template action may sit inside a quoted name or string, and may itself
            // hold quotes: `"{{ index .Options "Namespace" }}".users`.
            State::SingleQuote { .. } | State::DoubleQuote
                if b == b'{' && bytes.get(i + 1) == Some(&b'{') && find(&bytes[i..], b"}}").is_some() =>
            {
                let end = i + find(&bytes[i..], b"}}").unwrap_or(0) + 2;
                mask_go_action(&mut bytes[i..end]);
                i = end;
                continue;
            }
            State::SingleQuote { backslash_escapes } => match b {
                b'\\' if backslash_escapes => i += 1,
                b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 1,
                b'\'' => state = State::Normal,
                _ => {}
            },
            State::DoubleQuote => match b {
                b'"' if bytes.get(i + 1) == Some(&b'"') => i += 1,
                b'"' => state = State::Normal,
                _ => {}
            },
            State::LineComment => {
                if matches!(b, b'\n' | b'\r') {
                    state = State::Normal;
                }
            }
            State::BlockComment { depth } => {
                if b == b'*' && bytes.get(i + 1) == Some(&b'/') {
                    state = if depth == 1 { State::Normal } else { State::BlockComment { depth: depth - 1 } };
                    i += 1;
                } else if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
                    state = State::BlockComment { depth: depth + 1 };
                    i += 1;
                }
            }
        }
        i += 1;
    }
    // Only ASCII bytes were replaced, and only whole characters (a backslash runs to a line
    // end, COPY data is replaced up to a line end, a BOM is replaced whole), so the text is
    // still valid UTF-8.
    let text = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Masked { text, meta_commands, semicolons }
}

/// Where in `bytes` the next byte is that `mask` acts on in `state`; `starts` marks the first
/// bytes of the configured placeholders.
fn next_significant(bytes: &[u8], state: State, starts: Option<&[bool; 256]>) -> Option<usize> {
    let normal = |c: &u8| matches!(c, b'\'' | b'"' | b'-' | b'/' | b'$' | b'{' | b'[' | b']' | b':' | b'\\' | b';');
    match state {
        State::Normal => match starts {
            None => bytes.iter().position(normal),
            Some(starts) => bytes.iter().position(|c| normal(c) || starts[usize::from(*c)]),
        },
        State::SingleQuote { .. } => memchr::memchr3(b'\'', b'\\', b'{', bytes),
        State::DoubleQuote => memchr::memchr2(b'"', b'{', bytes),
        State::LineComment => memchr::memchr2(b'\n', b'\r', bytes),
        State::BlockComment { .. } => memchr::memchr2(b'*', b'/', bytes),
    }
}

/// Notes that `copy`'s data starts on the line after `after`; with no line after it, the
/// file ends before any data, as psql would find.
fn queue_copy_data(copy_data: &mut Option<(usize, Vec<Span>)>, bytes: &[u8], after: usize, copy: Span) {
    if let Some((_, copies)) = copy_data {
        copies.push(copy);
        return;
    }
    if let Some(newline) = memchr::memchr(b'\n', &bytes[after..]) {
        *copy_data = Some((after + newline + 1, vec![copy]));
    }
}

/// Blanks the data of a `COPY … FROM stdin` that starts at `start`: every line up to and
/// including the one that is exactly `\.` (psql's end-of-data marker, with a `\n` or `\r\n`
/// line end), or to the end of the file. Line breaks stay, so lines keep their numbers.
/// Returns where the data ends and whether a `\.` line ended it.
fn mask_copy_data(bytes: &mut [u8], start: usize) -> (usize, bool) {
    let mut line = start;
    let mut ended = false;
    while line < bytes.len() {
        let next = memchr::memchr(b'\n', &bytes[line..]).map_or(bytes.len(), |p| line + p + 1);
        let content = &bytes[line..next];
        let content = content.strip_suffix(b"\n").unwrap_or(content);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        line = next;
        if content == b"\\." {
            ended = true;
            break;
        }
    }
    for b in bytes[start..line].iter_mut().filter(|b| !matches!(b, b'\n' | b'\r')) {
        *b = b' ';
    }
    (line, ended)
}

/// Whether `statement` is a `COPY … FROM STDIN` (or the arguments of psql's `\copy … from
/// stdin`), and if so, where its `COPY` keyword starts. The first word at the top level
/// after the table and its column list is `FROM` or `TO`; `(query) TO` has no `FROM` at
/// the top level.
fn copy_from_stdin(statement: &[u8]) -> Option<usize> {
    let mut words = CoarseTokens { bytes: statement, at: 0 };
    let (start, CoarseToken::Word(first)) = words.next()? else { return None };
    if !first.eq_ignore_ascii_case(b"copy") {
        return None;
    }
    let mut depth = 0usize;
    while let Some((_, word)) = words.next() {
        match word {
            CoarseToken::Open => depth += 1,
            CoarseToken::Close => depth = depth.saturating_sub(1),
            CoarseToken::Word(w) if depth == 0 && w.eq_ignore_ascii_case(b"from") => {
                let from = matches!(words.next(), Some((_, CoarseToken::Word(w))) if w.eq_ignore_ascii_case(b"stdin"));
                return from.then_some(start);
            }
            CoarseToken::Word(w) if depth == 0 && w.eq_ignore_ascii_case(b"to") => return None,
            _ => {}
        }
    }
    None
}

/// The tokens of a statement, as coarsely as [`copy_from_stdin`] needs them: words,
/// parentheses, and anything else (quoted names, strings, numbers, operators) as `Other`.
/// Whitespace and comments are skipped.
struct CoarseTokens<'a> {
    bytes: &'a [u8],
    at: usize,
}

enum CoarseToken<'a> {
    Word(&'a [u8]),
    Open,
    Close,
    Other,
}

impl<'a> Iterator for CoarseTokens<'a> {
    /// Where the token starts, and what it is.
    type Item = (usize, CoarseToken<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.bytes;
        loop {
            let i = self.at + bytes.get(self.at..)?.iter().position(|b| !b.is_ascii_whitespace())?;
            let rest = &bytes[i..];
            if rest.starts_with(b"--") {
                self.at = memchr::memchr(b'\n', rest).map_or(bytes.len(), |p| i + p + 1);
                continue;
            }
            if rest.starts_with(b"/*") {
                self.at = i + block_comment_len(rest);
                continue;
            }
            let (len, word) = match rest[0] {
                b'(' => (1, CoarseToken::Open),
                b')' => (1, CoarseToken::Close),
                b'\'' | b'"' => (quoted_len(rest, false), CoarseToken::Other),
                b'e' | b'E' if rest.get(1) == Some(&b'\'') => (1 + quoted_len(&rest[1..], true), CoarseToken::Other),
                b if is_ident_byte(Some(b)) => {
                    let len = rest.iter().take_while(|b| is_ident_byte(Some(**b)) || **b == b'$').count();
                    (len, if b.is_ascii_digit() { CoarseToken::Other } else { CoarseToken::Word(&rest[..len]) })
                }
                _ => (1, CoarseToken::Other),
            };
            self.at = i + len;
            return Some((i, word));
        }
    }
}

/// Length of the quoted string or name at the start of `bytes`, or the rest of `bytes` if
/// it never closes. A doubled quote stands for itself.
fn quoted_len(bytes: &[u8], backslash_escapes: bool) -> usize {
    let quote = bytes[0];
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslash_escapes => i += 1,
            b if b == quote && bytes.get(i + 1) == Some(&quote) => i += 1,
            b if b == quote => return i + 1,
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// Length of the (nested) block comment at the start of `bytes`, or the rest of `bytes`.
fn block_comment_len(bytes: &[u8]) -> usize {
    let mut depth = 0usize;
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'/' && bytes[i + 1] == b'*' {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Overwrites a placeholder with an identifier of the same length: `_` then `x`s.
fn fill_identifier(bytes: &mut [u8]) {
    bytes.fill(b'x');
    bytes[0] = b'_';
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A Go template action: control actions (`if`, `end`, `range`…) vanish, value actions
/// become an identifier. Line breaks inside it are kept so lines do not move.
fn mask_go_action(action: &mut [u8]) {
    let inner = String::from_utf8_lossy(&action[2..action.len() - 2]).into_owned();
    let word = inner.trim_start_matches('-').split_whitespace().next().unwrap_or("");
    let control = matches!(
        word,
        "if" | "else" | "end" | "range" | "with" | "define" | "template" | "block" | "break" | "continue"
    ) || word.starts_with("/*");
    if control {
        for b in action.iter_mut().filter(|b| !matches!(b, b'\n' | b'\r')) {
            *b = b' ';
        }
    } else if action.iter().any(|b| matches!(b, b'\n' | b'\r')) {
        for b in action.iter_mut().filter(|b| !matches!(b, b'\n' | b'\r')) {
            *b = b'_';
        }
    } else {
        fill_identifier(action);
    }
}

/// Length of a psql variable reference at the start of `bytes`: `:name`, `:'name'` or `:"name"`.
fn psql_variable_len(bytes: &[u8]) -> Option<usize> {
    let (quote, start) = match bytes.get(1)? {
        q @ (b'\'' | b'"') => (Some(*q), 2),
        b if b.is_ascii_alphabetic() || *b == b'_' => (None, 1),
        _ => return None,
    };
    let name_len = bytes[start..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
    if name_len == 0 {
        return None;
    }
    match quote {
        Some(q) if bytes.get(start + name_len) == Some(&q) => Some(start + name_len + 1),
        Some(_) => None,
        None => Some(start + name_len),
    }
}

/// `:name` becomes an identifier, `:'name'` a string literal and `:"name"` a quoted
/// identifier, each of the same length.
fn mask_psql_variable(var: &mut [u8]) {
    let last = var.len() - 1;
    match var[1] {
        q @ (b'\'' | b'"') => {
            var[..last].fill(b'x');
            var[0] = q;
            var[last] = q;
        }
        _ => fill_identifier(var),
    }
}

fn is_ident_byte(b: Option<u8>) -> bool {
    b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80)
}

/// Length of a dollar-quote opener such as `$$` or `$body$` at the start of `bytes`.
fn dollar_tag_len(bytes: &[u8]) -> Option<usize> {
    let rest = &bytes[1..];
    let tag_len = rest.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b >= 0x80).count();
    if rest.get(tag_len) != Some(&b'$') {
        return None;
    }
    if rest.first().is_some_and(u8::is_ascii_digit) {
        return None; // `$1` is a parameter, not a quote.
    }
    Some(tag_len + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_outside_quotes_and_comments_are_found() {
        let text = "SELECT ';'; -- ;\n/* ; /* ; */ ; */ SELECT $$;$$, $t$;$t$; SELECT E'\\';', \"a;b\";\nSELECT 1";
        let ends: Vec<&str> = mask(text).semicolons.iter().map(|&end| &text[..end]).collect();
        assert_eq!(ends.len(), 3, "{ends:#?}");
        assert!(ends[0].ends_with("SELECT ';';"));
        assert!(ends[1].ends_with("$t$;$t$;"));
        assert!(ends[2].ends_with("\"a;b\";"));
    }

    #[test]
    fn masks_meta_commands_keeping_offsets() {
        let text = "\\set ON_ERROR_STOP 1\nSELECT 1;\n";
        let masked = mask(text);
        assert_eq!(masked.text.len(), text.len());
        assert!(masked.text.starts_with("                    \nSELECT"));
        assert_eq!(masked.meta_commands[0].name, "set");
        assert_eq!(masked.meta_commands[0].span, Span::new(0, 20));
    }

    #[test]
    fn backslashes_inside_quotes_and_bodies_are_sql() {
        let text =
            "SELECT E'a\\'b', '\\x'; CREATE FUNCTION f() RETURNS text AS $$ SELECT '\\n' $$ LANGUAGE sql; -- \\x\n";
        let masked = mask(text);
        assert!(masked.meta_commands.is_empty());
        assert_eq!(masked.text, text);
    }

    #[test]
    fn gexec_ends_the_statement() {
        let masked = mask("SELECT 'x' \\gexec\n");
        assert_eq!(masked.text, "SELECT 'x' ;     \n");
    }

    #[test]
    fn placeholders_become_same_length_sql() {
        let text = "CREATE TABLE ${schema}.t (id int);\nSELECT :id, :'name', :\"col\", a::int, arr[1:n];";
        let masked = mask(text);
        assert_eq!(masked.text, "CREATE TABLE _xxxxxxxx.t (id int);\nSELECT _xx, 'xxxxx', \"xxxx\", a::int, arr[1:n];");
        let go = mask("ALTER TABLE {{ index .Options \"Namespace\" }}.users ADD c int;\n{{ if .X }}SELECT 1;{{ end }}");
        assert_eq!(
            go.text.len(),
            "ALTER TABLE {{ index .Options \"Namespace\" }}.users ADD c int;\n{{ if .X }}SELECT 1;{{ end }}".len()
        );
        assert!(go.text.starts_with("ALTER TABLE _xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.users"));
        assert!(go.text.ends_with("           SELECT 1;         "));
        let quoted = mask("CREATE INDEX i ON \"{{ index .Options \"Namespace\" }}\".t (a);");
        assert!(quoted.text.starts_with("CREATE INDEX i ON \"_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\".t"), "{}", quoted.text);
    }

    #[test]
    fn placeholders_inside_strings_and_bodies_stay() {
        let text = "SELECT '${x} :y', $$ :z $$;";
        assert_eq!(mask(text).text, text);
    }

    /// The masked text, checking that it keeps every offset and line break of `text`.
    fn checked_mask(text: &str) -> Masked {
        let masked = mask(text);
        assert_eq!(masked.text.len(), text.len(), "{text:?}");
        let breaks = |t: &str| t.match_indices(['\n', '\r']).map(|(at, _)| at).collect::<Vec<_>>();
        assert_eq!(breaks(&masked.text), breaks(text), "{text:?}");
        masked
    }

    const DUMP: &str = "CREATE TABLE public.users (id integer, name text);\n\
        COPY public.users (id, name) FROM stdin;\n\
        1\tAnn; DROP TABLE users;\n\
        2\tit's \\\\ \"quoted\" $$ /* -- \\N\n\
        \\.\n\
        CREATE INDEX users_name ON public.orders (name);\n";

    #[test]
    fn copy_data_from_stdin_is_blanked() {
        let masked = checked_mask(DUMP);
        let lines: Vec<&str> = masked.text.lines().collect();
        assert_eq!(lines[1], "COPY public.users (id, name) FROM stdin;");
        assert!(lines[2..5].iter().all(|l| l.trim().is_empty()), "{lines:#?}");
        assert_eq!(lines[5], "CREATE INDEX users_name ON public.orders (name);");
        assert!(masked.meta_commands.is_empty(), "{:?}", masked.meta_commands);
        // The data's `;` are no statement ends.
        let ends: Vec<usize> = masked.semicolons.iter().map(|&at| DUMP[..at].lines().count()).collect();
        assert_eq!(ends, [1, 2, 6]);
    }

    #[test]
    fn the_statement_after_copy_data_parses() {
        let parsed = crate::parse::parse_file(DUMP);
        let kinds: Vec<&str> = parsed
            .items
            .iter()
            .map(|item| match item {
                crate::parse::Item::Statement(s) => match &*s.node {
                    pg_query::protobuf::node::Node::CreateStmt(_) => "create",
                    pg_query::protobuf::node::Node::CopyStmt(_) => "copy",
                    pg_query::protobuf::node::Node::IndexStmt(_) => "index",
                    _ => "other",
                },
                crate::parse::Item::SyntaxError(_) => "syntax error",
            })
            .collect();
        assert_eq!(kinds, ["create", "copy", "index"]);
    }

    #[test]
    fn copy_forms_that_read_data() {
        for copy in [
            "copy t from STDIN;",
            "COPY t FROM stdin WITH (FORMAT csv, DELIMITER ';');",
            "COPY BINARY t FROM stdin;",
            "Copy \"My Table\" (\"to\", b) From Stdin With Csv Header;",
            "/* load */ COPY -- the users\n s.t(a) FROM stdin;",
            "COPY t FROM stdin WHERE a > 1;",
            "COPY t FROM E'x' ; COPY u FROM stdin;",
        ] {
            let text = format!("{copy}\nx;y\n\\.\nDROP INDEX i;\n");
            let masked = checked_mask(&text);
            assert!(masked.text.ends_with("\n   \n  \nDROP INDEX i;\n"), "{copy:?}: {:?}", masked.text);
            assert!(masked.meta_commands.is_empty(), "{copy:?}");
        }
    }

    #[test]
    fn copy_forms_that_read_no_data() {
        for copy in [
            "COPY t TO stdout;",
            "COPY (SELECT a FROM t) TO STDOUT WITH csv;",
            "COPY t FROM '/tmp/t.csv';",
            "COPY t FROM PROGRAM 'cat t';",
            "COPY t FROM pstdin;",
            "SELECT 'COPY t FROM stdin;';",
            "SELECT 1 FROM stdin;",
            "-- COPY t FROM stdin;",
            "/* COPY t FROM stdin; */",
            "CREATE FUNCTION f() RETURNS void AS $$ COPY t FROM stdin; $$ LANGUAGE sql;",
            "DO $body$ BEGIN COPY t FROM stdin; END $body$;",
            "CREATE TABLE copy (\"from\" int); SELECT \"copy; COPY t FROM stdin;\";",
        ] {
            let text = format!("{copy}\nSELECT 2;\n");
            let masked = checked_mask(&text);
            assert!(masked.text.ends_with("\nSELECT 2;\n"), "{copy:?}: {:?}", masked.text);
        }
    }

    #[test]
    fn copy_data_with_crlf_line_ends() {
        let text = "COPY t (a) FROM stdin;\r\n1;2\r\n\\.\r\nDROP INDEX i;\r\n";
        assert_eq!(checked_mask(text).text, "COPY t (a) FROM stdin;\r\n   \r\n  \r\nDROP INDEX i;\r\n");
        // `\.` ends the data only on a line of its own.
        let text = "COPY t FROM stdin;\n a\\.\n\\. \n\\.\nSELECT 1;";
        assert_eq!(checked_mask(text).text, "COPY t FROM stdin;\n    \n   \n  \nSELECT 1;");
    }

    #[test]
    fn copy_data_without_an_end_runs_to_the_end_of_the_file() {
        let text = "SELECT 0;\nCOPY t FROM stdin;\n1\tx\nDROP INDEX i;";
        let masked = checked_mask(text);
        assert_eq!(masked.text, "SELECT 0;\nCOPY t FROM stdin;\n   \n             ");
        let [note] = masked.meta_commands.as_slice() else { panic!("{:?}", masked.meta_commands) };
        assert_eq!(note.kind, MetaKind::UnterminatedCopyData);
        assert_eq!(&text[note.span.start..note.span.end], "COPY t FROM stdin;");
        assert!(note.message().contains("no `\\.` line"), "{}", note.message());
        // At the end of the file, or with nothing but blank lines after it, nothing is lost.
        for text in
            ["COPY t FROM stdin;", "COPY t FROM stdin;\n", "COPY t FROM stdin;\n\n  \n", "COPY t FROM stdin;\n\\."]
        {
            assert!(mask(text).meta_commands.is_empty(), "{text:?}");
        }
    }

    #[test]
    fn copy_data_starts_on_the_next_line() {
        // psql reads the data after the line that ended the statement; the rest of that line is SQL.
        let text = "COPY t FROM stdin; -- rows follow\n1\n\\.\nSELECT 1;";
        assert_eq!(checked_mask(text).text, "COPY t FROM stdin; -- rows follow\n \n  \nSELECT 1;");
        let text = "COPY a FROM stdin; COPY b FROM stdin;\n1\n\\.\n2\n\\.\nSELECT 1;";
        assert_eq!(checked_mask(text).text, "COPY a FROM stdin; COPY b FROM stdin;\n \n  \n \n  \nSELECT 1;");
    }

    #[test]
    fn backslash_copy_from_stdin_reads_data_too() {
        let text = "\\copy t (a) from stdin with csv\n1,\"a;b\"\n\\.\nSELECT 1;";
        let masked = checked_mask(text);
        assert!(masked.text.ends_with("\n       \n  \nSELECT 1;"), "{:?}", masked.text);
        assert_eq!(masked.meta_commands.len(), 1);
        assert_eq!(masked.meta_commands[0].name, "copy");
        assert_eq!(masked.meta_commands[0].kind, MetaKind::Command);
        let text = "\\copy t from pstdin\nSELECT 1;";
        assert!(mask(text).text.ends_with("\nSELECT 1;"));
        let text = "COPY t FROM stdin \\g\n1\n\\.\nSELECT 1;";
        assert_eq!(checked_mask(text).text, "COPY t FROM stdin ; \n \n  \nSELECT 1;");
    }

    #[test]
    fn copy_data_keeps_non_ascii_text_whole() {
        let text = "COPY t FROM stdin;\nZoë\t€\n\\.\nSELECT 'é';";
        let masked = checked_mask(text);
        assert_eq!(masked.text, format!("COPY t FROM stdin;\n{}\n  \nSELECT 'é';", " ".repeat("Zoë\t€".len())));
    }

    fn placeholders(patterns: &[&str]) -> Vec<Placeholder> {
        patterns.iter().map(|p| Placeholder::new(p).unwrap_or_else(|e| panic!("{e}"))).collect()
    }

    #[test]
    fn custom_placeholders_become_identifiers() {
        let custom = placeholders(&["$%*%$", "{{*}}", "@@*"]);
        let text = "CREATE TABLE {{table_prefix}}users (id $%AUTO_INCREMENT_PRIMARY_KEY%$, n @@name);";
        let masked = mask_with(text, &custom);
        assert_eq!(masked.text, "CREATE TABLE _xxxxxxxxxxxxxxxusers (id _xxxxxxxxxxxxxxxxxxxxxxxxxxxxx, n _xxxxx);");
    }

    #[test]
    fn custom_placeholders_inside_strings_and_comments_stay() {
        let custom = placeholders(&["$%*%$", "##*##"]);
        let text = "SELECT '$%a%$', \"##b##\", $$ ##c## $$; -- $%d%$\n/* ##e## */ SELECT ##f##;";
        let masked = mask_with(text, &custom);
        assert_eq!(masked.text, text.replace("##f##", "_xxxx"));
    }

    #[test]
    fn custom_placeholders_need_a_name_on_one_line() {
        let custom = placeholders(&["%%*%%", "__*__"]);
        for text in ["SELECT %%%%;", "SELECT %%a\nb%%;", "SELECT %%a; SELECT b%%;", "SELECT a__b__c;"] {
            assert_eq!(mask_with(text, &custom).text, text, "{text:?}");
        }
        assert_eq!(mask_with("SELECT __x__y, %%a%% %%b%%;", &custom).text, "SELECT _xxxxy, _xxxx _xxxx;");
        let dollar = placeholders(&["$*"]);
        let text = "SELECT $name, $body$ $x $body$;";
        assert_eq!(mask_with(text, &dollar).text, "SELECT _xxxx, $body$ $x $body$;");
    }

    #[test]
    fn placeholder_patterns_are_checked() {
        for (pattern, message) in [
            ("", "placeholder pattern is empty"),
            ("{{name}}", "has no `*`"),
            ("{{*}}*", "more than one `*`"),
            ("*__", "needs text before the `*`"),
            ("{{ * }}", "holds a space, a quote or a `;`"),
            ("'*'", "holds a space, a quote or a `;`"),
            ("--*--", "starts like an SQL comment"),
        ] {
            let error = Placeholder::new(pattern).err().unwrap_or_default();
            assert!(error.contains(message), "{pattern:?}: {error}");
        }
        assert_eq!(placeholders(&["$%*%$"])[0].to_string(), "$%*%$");
    }

    #[test]
    fn byte_order_mark_becomes_spaces() {
        let masked = mask("\u{FEFF}SELECT 1");
        assert_eq!(masked.text, "   SELECT 1");
    }
}
