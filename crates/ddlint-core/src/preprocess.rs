//! Text that PostgreSQL's grammar does not read is masked before parsing: psql meta-commands,
//! a byte-order mark, and templating placeholders (Flyway `${x}`, psql `:var`, `:'var'` and
//! `:"var"`, Go templates `{{ … }}`). Masking swaps bytes for spaces, for a neutral identifier
//! or literal of the same length, or for a `;` where psql would end the statement, so every
//! byte offset in the masked text is the same as in the original file.

use crate::source::Span;

/// A psql meta-command that was masked, such as `\set ON_ERROR_STOP on`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaCommand {
    pub span: Span,
    /// The command word without its backslash: `set`, `i`, `connect`…
    pub name: String,
}

#[derive(Debug)]
pub struct Masked {
    pub text: String,
    pub meta_commands: Vec<MetaCommand>,
    /// Offsets just past each `;` outside quotes, comments and dollar quotes, in order:
    /// where a statement may end, so where a large file may be cut for parsing in pieces.
    pub semicolons: Vec<usize>,
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
    let mut bytes = original.as_bytes().to_vec();
    let mut meta_commands = Vec::new();
    let mut semicolons = Vec::new();
    if bytes.starts_with("\u{FEFF}".as_bytes()) {
        bytes[..3].fill(b' ');
    }
    let mut state = State::Normal;
    let mut dollar_tag: Option<Vec<u8>> = None;
    // Inside `[…]` a colon is an array slice, not a psql variable.
    let mut bracket_depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(tag) = &dollar_tag {
            let Some(at) = memchr::memchr(b'$', &bytes[i..]) else { break };
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
        let Some(at) = next_significant(&bytes[i..], state) else { break };
        i += at;
        let b = bytes[i];
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
                b';' => semicolons.push(i + 1),
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
                    meta_commands.push(MetaCommand { span: Span::new(i, end), name: name.clone() });
                    bytes[i..end].fill(b' ');
                    // `\g` and its variants send the query buffer, so they end a statement.
                    if name.starts_with('g') || name.is_empty() && original[i..].starts_with("\\;") {
                        bytes[i] = b';';
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
    // end, a BOM is replaced whole), so the text is still valid UTF-8.
    let text = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Masked { text, meta_commands, semicolons }
}

/// Where in `bytes` the next byte is that `mask` acts on in `state`.
fn next_significant(bytes: &[u8], state: State) -> Option<usize> {
    match state {
        State::Normal => bytes
            .iter()
            .position(|c| matches!(c, b'\'' | b'"' | b'-' | b'/' | b'$' | b'{' | b'[' | b']' | b':' | b'\\' | b';')),
        State::SingleQuote { .. } => memchr::memchr3(b'\'', b'\\', b'{', bytes),
        State::DoubleQuote => memchr::memchr2(b'"', b'{', bytes),
        State::LineComment => memchr::memchr2(b'\n', b'\r', bytes),
        State::BlockComment { .. } => memchr::memchr2(b'*', b'/', bytes),
    }
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

    #[test]
    fn byte_order_mark_becomes_spaces() {
        let masked = mask("\u{FEFF}SELECT 1");
        assert_eq!(masked.text, "   SELECT 1");
    }
}
