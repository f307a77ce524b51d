//! A strict XML 1.0 well-formedness checker for the JUnit reporter's output, with the
//! element tree it read so that values can be compared after the parser's normalization.
//!
//! It covers the XML the reporter may write (a declaration, elements, attributes, character
//! data, references, comments, CDATA) and rejects everything else, including a DOCTYPE.

/// An element with its attributes and children, references decoded and line ends
/// normalized as a conforming parser does.
#[derive(Debug, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Node>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The concatenated character data directly inside this element.
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) => None,
            })
            .collect()
    }
}

/// Whether XML 1.0 allows the character anywhere in a document.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
}

/// Parses a whole document and returns its root element.
pub fn parse(document: &str) -> Result<Element, String> {
    if let Some((at, c)) = document.char_indices().find(|(_, c)| !is_xml_char(*c)) {
        return Err(format!("character U+{:04X} at byte {at} is not allowed in XML", u32::from(c)));
    }
    let mut parser = Parser { s: document, i: 0 };
    if parser.rest().starts_with("<?xml") {
        parser.declaration()?;
    }
    parser.misc()?;
    if !parser.rest().starts_with('<') {
        return Err(parser.error("expected the root element"));
    }
    let root = parser.element()?;
    parser.misc()?;
    if parser.i != document.len() {
        return Err(parser.error("content after the root element"));
    }
    Ok(root)
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.i..]
    }

    fn error(&self, what: &str) -> String {
        let context: String = self.rest().chars().take(30).collect();
        format!("{what} at byte {} (before {context:?})", self.i)
    }

    fn eat(&mut self, literal: &str) -> bool {
        if self.rest().starts_with(literal) {
            self.i += literal.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, literal: &str) -> Result<(), String> {
        if self.eat(literal) {
            Ok(())
        } else {
            Err(self.error(&format!("expected `{literal}`")))
        }
    }

    fn spaces(&mut self) -> bool {
        let before = self.i;
        while self.rest().starts_with([' ', '\t', '\n', '\r']) {
            self.i += 1;
        }
        self.i > before
    }

    fn name(&mut self) -> Result<String, String> {
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|&(at, c)| {
                let start = c.is_ascii_alphabetic() || c == '_' || c == ':';
                !(start || (at > 0 && (c.is_ascii_digit() || c == '-' || c == '.')))
            })
            .map_or(rest.len(), |(at, _)| at);
        if len == 0 {
            return Err(self.error("expected a name"));
        }
        let name = rest[..len].to_owned();
        self.i += len;
        Ok(name)
    }

    fn declaration(&mut self) -> Result<(), String> {
        self.expect("<?xml")?;
        let Some(end) = self.rest().find("?>") else {
            return Err(self.error("unterminated XML declaration"));
        };
        let body = &self.rest()[..end];
        if !body.starts_with([' ', '\t', '\n', '\r']) || !body.contains("version=") {
            return Err(self.error("malformed XML declaration"));
        }
        self.i += end + 2;
        Ok(())
    }

    /// Whitespace, comments and processing instructions between top-level parts.
    fn misc(&mut self) -> Result<(), String> {
        loop {
            self.spaces();
            if self.rest().starts_with("<!--") {
                self.comment()?;
            } else if self.rest().starts_with("<?") {
                self.processing_instruction()?;
            } else {
                return Ok(());
            }
        }
    }

    fn comment(&mut self) -> Result<(), String> {
        self.expect("<!--")?;
        let Some(end) = self.rest().find("--") else {
            return Err(self.error("unterminated comment"));
        };
        if !self.rest()[end..].starts_with("-->") {
            return Err(self.error("`--` inside a comment"));
        }
        self.i += end + 3;
        Ok(())
    }

    fn processing_instruction(&mut self) -> Result<(), String> {
        self.expect("<?")?;
        let target = self.name()?;
        if target.eq_ignore_ascii_case("xml") {
            return Err(self.error("misplaced XML declaration"));
        }
        let Some(end) = self.rest().find("?>") else {
            return Err(self.error("unterminated processing instruction"));
        };
        self.i += end + 2;
        Ok(())
    }

    fn element(&mut self) -> Result<Element, String> {
        self.expect("<")?;
        let name = self.name()?;
        let mut attributes: Vec<(String, String)> = Vec::new();
        loop {
            let spaced = self.spaces();
            if self.eat("/>") {
                return Ok(Element { name, attributes, children: Vec::new() });
            }
            if self.eat(">") {
                break;
            }
            if !spaced {
                return Err(self.error("expected a space before an attribute"));
            }
            let attribute = self.name()?;
            self.spaces();
            self.expect("=")?;
            self.spaces();
            let value = self.attribute_value()?;
            if attributes.iter().any(|(n, _)| *n == attribute) {
                return Err(self.error(&format!("duplicate attribute `{attribute}`")));
            }
            attributes.push((attribute, value));
        }

        let mut children = Vec::new();
        let mut text = String::new();
        loop {
            let rest = self.rest();
            if rest.is_empty() {
                return Err(self.error(&format!("element `{name}` is not closed")));
            }
            if rest.starts_with("</") {
                self.i += 2;
                let closing = self.name()?;
                if closing != name {
                    return Err(self.error(&format!("`</{closing}>` closes `<{name}>`")));
                }
                self.spaces();
                self.expect(">")?;
                break;
            }
            if rest.starts_with("<!--") {
                self.comment()?;
            } else if rest.starts_with("<![CDATA[") {
                self.i += "<![CDATA[".len();
                let Some(end) = self.rest().find("]]>") else {
                    return Err(self.error("unterminated CDATA section"));
                };
                push_normalized(&mut text, &self.rest()[..end]);
                self.i += end + 3;
            } else if rest.starts_with("<?") {
                self.processing_instruction()?;
            } else if rest.starts_with('<') {
                if !text.is_empty() {
                    children.push(Node::Text(std::mem::take(&mut text)));
                }
                children.push(Node::Element(self.element()?));
            } else if rest.starts_with('&') {
                text.push(self.reference()?);
            } else {
                let end = rest.find(['<', '&']).unwrap_or(rest.len());
                let data = &rest[..end];
                if data.contains("]]>") {
                    return Err(self.error("`]]>` in character data"));
                }
                push_normalized(&mut text, data);
                self.i += end;
            }
        }
        if !text.is_empty() {
            children.push(Node::Text(text));
        }
        Ok(Element { name, attributes, children })
    }

    /// A quoted attribute value, normalized as for an attribute of type CDATA: each literal
    /// line end or tab becomes a space, references are kept as written.
    fn attribute_value(&mut self) -> Result<String, String> {
        let quote = match self.rest().chars().next() {
            Some(q @ ('"' | '\'')) => q,
            _ => return Err(self.error("expected a quoted attribute value")),
        };
        self.i += 1;
        let mut value = String::new();
        loop {
            let Some(c) = self.rest().chars().next() else {
                return Err(self.error("unterminated attribute value"));
            };
            match c {
                _ if c == quote => {
                    self.i += 1;
                    return Ok(value);
                }
                '<' => return Err(self.error("`<` in an attribute value")),
                '&' => value.push(self.reference()?),
                '\r' => {
                    self.i += 1;
                    self.eat("\n");
                    value.push(' ');
                }
                '\n' | '\t' => {
                    self.i += 1;
                    value.push(' ');
                }
                _ => {
                    self.i += c.len_utf8();
                    value.push(c);
                }
            }
        }
    }

    fn reference(&mut self) -> Result<char, String> {
        self.expect("&")?;
        let Some(end) = self.rest().find(';') else {
            return Err(self.error("unterminated reference"));
        };
        let body = &self.rest()[..end];
        let c = match body {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => {
                let number = if let Some(hex) = body.strip_prefix("#x") {
                    (!hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                        .then(|| u32::from_str_radix(hex, 16).ok())
                        .flatten()
                } else if let Some(decimal) = body.strip_prefix('#') {
                    (!decimal.is_empty() && decimal.bytes().all(|b| b.is_ascii_digit()))
                        .then(|| decimal.parse().ok())
                        .flatten()
                } else {
                    None
                };
                number.and_then(char::from_u32).filter(|c| is_xml_char(*c))
            }
        };
        let Some(c) = c else {
            return Err(self.error(&format!("invalid reference `&{body};`")));
        };
        self.i += end + 1;
        Ok(c)
    }
}

/// Appends character data with `\r\n` and a lone `\r` read as `\n`.
fn push_normalized(out: &mut String, data: &str) {
    let mut chars = data.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            chars.next_if_eq(&'\n');
            out.push('\n');
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_document_and_decodes_values() -> Result<(), String> {
        let root = parse(
            "<?xml version=\"1.0\"?>\n<a x=\"1&amp;&#10;2\" y='q\"'>t&lt;<b/>\r\n<![CDATA[<c>]]><!-- c --></a>\n",
        )?;
        assert_eq!(root.name, "a");
        assert_eq!(root.attribute("x"), Some("1&\n2"));
        assert_eq!(root.attribute("y"), Some("q\""));
        assert_eq!(root.elements().count(), 1);
        assert_eq!(root.text(), "t<\n<c>");
        Ok(())
    }

    #[test]
    fn rejects_what_is_not_well_formed() {
        for bad in [
            "<a>",
            "<a></b>",
            "<a x=\"1\" x=\"2\"/>",
            "<a x=\"<\"/>",
            "<a>&bogus;</a>",
            "<a>&#0;</a>",
            "<a>&#x1b;</a>",
            "<a>\u{1b}</a>",
            "<a>\u{fffe}</a>",
            "<a>]]></a>",
            "<a><!-- -- --></a>",
            "<a/><b/>",
            "<a x=1/>",
            "<a x=\"1\"y=\"2\"/>",
            "<!DOCTYPE a><a/>",
            "text",
        ] {
            assert!(parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn attribute_line_ends_become_spaces() -> Result<(), String> {
        let root = parse("<a v=\"x\r\ny\tz\n\"/>")?;
        assert_eq!(root.attribute("v"), Some("x y z "));
        Ok(())
    }
}
