//! Text that PostgreSQL's grammar does not read is masked before parsing: psql meta-commands
//! and a byte-order mark. Masking swaps bytes for spaces (or a `;` where psql would end the
//! statement), so every byte offset in the masked text is the same as in the original file.

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
    if bytes.starts_with("\u{FEFF}".as_bytes()) {
        bytes[..3].fill(b' ');
    }
    let mut state = State::Normal;
    let mut dollar_tag: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(tag) = &dollar_tag {
            if bytes[i..].starts_with(tag) {
                i += tag.len();
                dollar_tag = None;
            } else {
                i += 1;
            }
            continue;
        }
        match state {
            State::Normal => match b {
                b'\'' => {
                    let escapes = i > 0 && matches!(bytes[i - 1], b'e' | b'E') && !is_ident_byte(bytes.get(i.wrapping_sub(2)).copied());
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
                b'$' if i == 0 || !is_ident_byte(Some(bytes[i - 1])) => {
                    if let Some(len) = dollar_tag_len(&bytes[i..]) {
                        dollar_tag = Some(bytes[i..i + len].to_vec());
                        i += len;
                        continue;
                    }
                }
                b'\\' => {
                    let end = bytes[i..].iter().position(|c| matches!(c, b'\n' | b'\r')).map_or(bytes.len(), |p| i + p);
                    let name: String = original[i + 1..end]
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '\\')
                        .collect();
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
    Masked { text, meta_commands }
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
        let text = "SELECT E'a\\'b', '\\x'; CREATE FUNCTION f() RETURNS text AS $$ SELECT '\\n' $$ LANGUAGE sql; -- \\x\n";
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
    fn byte_order_mark_becomes_spaces() {
        let masked = mask("\u{FEFF}SELECT 1");
        assert_eq!(masked.text, "   SELECT 1");
    }
}
