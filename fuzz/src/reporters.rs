//! The reporters target: reports built from fuzzed SQL and a fuzzed path (plus, at times, a
//! hand-made finding with a fuzzed message) are rendered in every format, and each output is
//! read back to check that escaping kept every value intact and inside its field.

use crate::xml;
use ddlint::report::{self, Format, Run};
use ddlint_core::{lint_file, registry, Diagnostic, FileReport, Settings, Severity, Span};
use serde_json::Value;
use std::path::{Component, Path, PathBuf};

pub const FORMATS: [Format; 7] =
    [Format::Human, Format::Json, Format::Sarif, Format::Github, Format::Gitlab, Format::Junit, Format::Markdown];

/// The fuzzer's bytes, split at `0xFF` (which UTF-8 text never holds): a path, the SQL, and
/// optionally a message and a help for a hand-made finding. Without a separator the bytes are
/// the SQL of a file with an ordinary path.
pub struct Input {
    pub path: String,
    pub sql: Vec<u8>,
    pub message: Option<String>,
    pub help: Option<String>,
}

impl Input {
    pub fn new(data: &[u8]) -> Self {
        let mut parts = data.split(|b| *b == 0xFF);
        let first = parts.next().unwrap_or_default();
        let Some(sql) = parts.next() else {
            return Self { path: "db/001_init.sql".to_owned(), sql: data.to_vec(), message: None, help: None };
        };
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        // A real path is never empty and never holds a NUL byte.
        let mut path = text(first).replace('\0', "\u{fffd}");
        if path.is_empty() {
            path.push_str("a.sql");
        }
        Self { path, sql: sql.to_vec(), message: parts.next().map(text), help: parts.next().map(text) }
    }
}

/// The files of one run: the fuzzed one and a fixed sibling, sorted by path as the CLI does.
pub fn build_files(data: &[u8]) -> Vec<FileReport> {
    let input = Input::new(data);
    let selector = crate::selector(data);
    let settings = Settings {
        enabled: if selector & 1 == 1 { registry::all().iter().map(|r| r.id.to_owned()).collect() } else { Vec::new() },
        ..Settings::default()
    };
    let mut file = lint_file(&input.path, &input.sql, &settings);
    if let Some(message) = input.message {
        let rules = registry::all();
        let rule = rules[(selector >> 8) as usize % rules.len()].id;
        let severity = [Severity::Note, Severity::Warning, Severity::Error][(selector >> 16) as usize % 3];
        let span = char_span(&file.text, (selector >> 20) as usize, (selector >> 40) as usize % 64);
        let mut diagnostic = Diagnostic::new(rule, severity, span, message);
        diagnostic.help = input.help;
        if selector >> 60 & 1 == 1 {
            diagnostic.statement = Some(Span::new(0, file.text.len()));
        }
        file.diagnostics.push(diagnostic);
        file.diagnostics.sort_by(|a, b| (a.span.start, a.span.end, a.rule).cmp(&(b.span.start, b.span.end, b.rule)));
    }
    let sibling = lint_file("z/002.sql", b"SET lock_timeout = '1s';\nDROP INDEX i;\n", &Settings::default());
    let mut files = vec![file, sibling];
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// A span of about `len` bytes at about `start`, moved onto character boundaries.
fn char_span(text: &str, start: usize, len: usize) -> Span {
    let floor = |mut at: usize| {
        at = at.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    let start = floor(start % (text.len() + 1));
    Span::new(start, floor(start.saturating_add(len)))
}

pub fn render(format: Format, files: &[FileReport], color: bool) -> String {
    let run = Run { files, color, pg_version: 15, ..Run::default() };
    let mut out = Vec::new();
    if let Err(e) = report::render(format, &run, &mut out) {
        panic!("{format:?}: rendering into memory failed: {e}");
    }
    match String::from_utf8(out) {
        Ok(text) => text,
        Err(e) => panic!("{format:?}: output is not UTF-8: {e}"),
    }
}

pub fn check_reporters(data: &[u8]) {
    let files = build_files(data);
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    for format in FORMATS {
        let out = render(format, &files, false);
        match format {
            Format::Human => check_human(&out),
            Format::Json => check_json(&out, &files),
            Format::Sarif => check_sarif(&out, &files, &cwd),
            Format::Github => check_github(&out, &files),
            Format::Gitlab => check_gitlab(&out, &files, &cwd),
            Format::Junit => check_junit(&out, &files),
            Format::Markdown => crate::markdown::check_markdown(&out, &files),
        }
    }
    render(Format::Human, &files, true);
}

fn diagnostics(files: &[FileReport]) -> impl Iterator<Item = (&FileReport, &Diagnostic)> {
    files.iter().flat_map(|f| f.diagnostics.iter().map(move |d| (f, d)))
}

fn parse_json(out: &str, format: &str) -> Value {
    match serde_json::from_str(out) {
        Ok(value) => value,
        Err(e) => panic!("{format} output is not JSON ({e}):\n{out}"),
    }
}

fn array<'a>(value: &'a Value, pointer: &str) -> &'a Vec<Value> {
    match value.pointer(pointer).and_then(Value::as_array) {
        Some(array) => array,
        None => panic!("no array at {pointer}"),
    }
}

/// Plain human output must not pass terminal control sequences through from the file.
fn check_human(out: &str) {
    if let Some(c) = out.chars().find(|c| c.is_control() && !matches!(c, '\n' | '\t')) {
        panic!("human output holds control character U+{:04X}:\n{out}", u32::from(c));
    }
}

fn check_json(out: &str, files: &[FileReport]) {
    let value = parse_json(out, "json");
    assert_eq!(value["files_checked"], files.len());
    let found = array(&value, "/diagnostics");
    assert_eq!(found.len(), diagnostics(files).count());
    for (json, (file, d)) in found.iter().zip(diagnostics(files)) {
        assert_eq!(json["path"], file.path.as_str(), "json: path");
        assert_eq!(json["rule"], d.rule);
        assert_eq!(json["message"], d.message.as_str(), "json: message");
        assert_eq!(json["help"], d.help.as_deref().map_or(Value::Null, Value::from), "json: help");
        assert_eq!(json["byte_range"], serde_json::json!([d.span.start, d.span.end]));
    }
}

fn check_sarif(out: &str, files: &[FileReport], cwd: &Path) {
    let value = parse_json(out, "sarif");
    let results = array(&value, "/runs/0/results");
    assert_eq!(results.len(), diagnostics(files).count());
    for (result, (file, d)) in results.iter().zip(diagnostics(files)) {
        assert_eq!(result["ruleId"], d.rule);
        let text = match &d.help {
            Some(help) => format!("{}\nhelp: {help}", d.message),
            None => d.message.clone(),
        };
        assert_eq!(result["message"]["text"], text.as_str(), "sarif: message");
        let location = &result["locations"][0]["physicalLocation"]["artifactLocation"];
        let Some(uri) = location["uri"].as_str() else { panic!("sarif: no uri") };
        let decoded = percent_decode(uri.strip_prefix("file://").unwrap_or(uri));
        let shown = if uri.starts_with("file://") {
            PathBuf::from(decoded)
        } else {
            assert_eq!(location["uriBaseId"], "%SRCROOT%", "sarif: a relative uri without a base");
            cwd.join(decoded)
        };
        assert_eq!(normalize(&shown), normalize(&cwd.join(&file.path)), "sarif: uri {uri:?} for {:?}", file.path);
        assert!(!uri.contains(['#', '?', ' ', '\n', '\r', '\\']), "sarif: unencoded character in {uri:?}");
    }
}

fn check_gitlab(out: &str, files: &[FileReport], cwd: &Path) {
    let value = parse_json(out, "gitlab");
    let issues = array(&value, "");
    assert_eq!(issues.len(), diagnostics(files).count());
    for (issue, (file, d)) in issues.iter().zip(diagnostics(files)) {
        assert_eq!(issue["check_name"], d.rule);
        let description = match &d.help {
            Some(help) => format!("{} — {help}", d.message),
            None => d.message.clone(),
        };
        assert_eq!(issue["description"], description.as_str(), "gitlab: description");
        let Some(path) = issue["location"]["path"].as_str() else { panic!("gitlab: no path") };
        assert_eq!(normalize(&cwd.join(path)), normalize(&cwd.join(&file.path)), "gitlab: path {path:?}");
        let begin = issue["location"]["lines"]["begin"].as_u64().unwrap_or(0);
        let end = issue["location"]["lines"]["end"].as_u64().unwrap_or(0);
        assert!(1 <= begin && begin <= end, "gitlab: lines {begin}..{end}");
    }
}

/// Every line is one workflow command whose properties and data decode back to the values.
fn check_github(out: &str, files: &[FileReport]) {
    assert!(!out.contains('\r'), "github: a raw carriage return:\n{out:?}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), diagnostics(files).count(), "github: one line per finding:\n{out:?}");
    for (line, (file, d)) in lines.iter().zip(diagnostics(files)) {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        let Some(rest) = line.strip_prefix(&format!("::{command} ")) else {
            panic!("github: {line:?} is not a `{command}` command");
        };
        let Some((properties, data)) = rest.split_once("::") else { panic!("github: no data in {line:?}") };
        let mut seen = Vec::new();
        for property in properties.split(',') {
            let Some((key, value)) = property.split_once('=') else {
                panic!("github: property {property:?} in {line:?}");
            };
            let value = github_decode(value);
            match key {
                "file" => assert_eq!(value, file.path, "github: file"),
                "title" => assert_eq!(value, d.rule),
                "line" | "col" | "endLine" | "endColumn" => {
                    assert!(value.parse::<usize>().is_ok_and(|n| n >= 1), "github: {key}={value}");
                }
                _ => panic!("github: unknown property {key:?} in {line:?}"),
            }
            seen.push(key);
        }
        assert!(seen.starts_with(&["file", "line"]), "github: properties {seen:?}");
        let expected = match &d.help {
            Some(help) => format!("{} — {help}", d.message),
            None => d.message.clone(),
        };
        assert_eq!(github_decode(data), expected, "github: data of {line:?}");
    }
}

fn github_decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3).unwrap_or("");
        let c = match escape {
            "%25" => '%',
            "%0D" => '\r',
            "%0A" => '\n',
            "%3A" => ':',
            "%2C" => ',',
            _ => panic!("github: a bare `%` in {text:?}"),
        };
        out.push(c);
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    out
}

/// The testsuite is well-formed XML with one test case per file, named by its path.
fn check_junit(out: &str, files: &[FileReport]) {
    let root = match xml::parse(out) {
        Ok(root) => root,
        Err(e) => panic!("junit: {e}\n{out}"),
    };
    assert_eq!(root.name, "testsuites");
    let suites: Vec<&xml::Element> = root.elements().collect();
    assert_eq!(suites.len(), 1);
    let cases: Vec<&xml::Element> = suites[0].elements().filter(|e| e.name == "testcase").collect();
    assert_eq!(cases.len(), files.len());
    for (case, file) in cases.iter().zip(files) {
        assert_eq!(case.attribute("name"), Some(xml_visible(&file.path).as_str()), "junit: name");
        let failures: Vec<&xml::Element> = case.elements().filter(|e| e.name != "system-out").collect();
        let expected: Vec<&Diagnostic> = file.diagnostics.iter().filter(|d| d.severity > Severity::Note).collect();
        assert_eq!(failures.len(), expected.len(), "junit: failures of {:?}", file.path);
        for (failure, d) in failures.iter().zip(expected) {
            assert_eq!(failure.attribute("message"), Some(xml_visible(&d.message).as_str()), "junit: message");
            assert_eq!(failure.attribute("type"), Some(d.rule));
            assert!(failure.text().contains(&xml_visible(&d.message)), "junit: body");
        }
        let notes = file.diagnostics.iter().filter(|d| d.severity == Severity::Note).count();
        let outputs = case.elements().filter(|e| e.name == "system-out").count();
        assert_eq!(outputs, usize::from(notes > 0), "junit: system-out of {:?}", file.path);
    }
}

/// What the JUnit reporter promises a reader sees: the text itself, except the characters
/// XML cannot carry at all, which it spells as `\u{…}`.
fn xml_visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if xml::is_xml_char(c) {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'%', None) => panic!("sarif: a bare `%` in {text:?}"),
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(text) => text,
        Err(e) => panic!("sarif: a uri that decodes to invalid UTF-8: {e}"),
    }
}

/// Removes `.` and resolves `..` lexically; `..` above the root stays at the root.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_input() {
        let input = Input::new(b"a,b:c\n.sql\xffDROP INDEX i;\xffmsg\xffhelp");
        assert_eq!(input.path, "a,b:c\n.sql");
        assert_eq!(input.sql, b"DROP INDEX i;");
        assert_eq!(input.message.as_deref(), Some("msg"));
        assert_eq!(input.help.as_deref(), Some("help"));
        assert_eq!(Input::new(b"SELECT 1;").path, "db/001_init.sql");
    }

    #[test]
    fn hostile_paths_and_messages_pass() {
        for data in [
            &b"SELECT 1;"[..],
            b"odd, name:1%0A.sql\xffALTER TABLE t RENAME a TO b;\xff50% of\r\nlines `x` ``` \x1b[31m\xff<help> & \"q\"",
            b"../../etc/``x``\r.sql\xffSELECT '\n```\n# heading\n';\nDROP INDEX i;\xff\xff",
            b" a b \xffSELEC 1;\r\n\xff]]> --> \x01\x0b",
            b"\xff\xef\xbb\xbfCREATE INDEX i ON t (a);",
        ] {
            check_reporters(data);
        }
    }

    #[test]
    fn github_decoding_round_trips() {
        assert_eq!(github_decode("a%25b%0D%0A%3A%2C"), "a%b\r\n:,");
    }

    #[test]
    fn xml_visible_spells_out_control_characters() {
        assert_eq!(xml_visible("a\u{1b}b\tc\u{ffff}"), "a\\u{1b}b\tc\\u{ffff}");
    }
}
