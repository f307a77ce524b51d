//! The SARIF 2.1.0 reporter, for code-scanning dashboards such as GitHub code scanning.
//!
//! One run whose driver lists every rule of the registry, so that `ruleIndex` is stable
//! and dashboards can show a rule's documentation even when it did not fire. Results point
//! at their file through a URI relative to `%SRCROOT%`, the working directory, with columns
//! counted in Unicode code points as everywhere else in ddlint.
//!
//! Each result carries `partialFingerprints["ddlint/v1"]`, which stays the same when lines
//! are added or removed around the finding. See `docs/output-formats.md` for its recipe.

use super::fingerprint::Occurrences;
use super::Run;
use ddlint_core::registry;
use ddlint_core::rules::RuleMeta;
use ddlint_core::{Diagnostic, FileReport, Position, Severity, Span};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Component, Path};

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The name of the base URI that relative artifact URIs resolve against.
const SRCROOT: &str = "%SRCROOT%";
/// The key of ddlint's fingerprint in `partialFingerprints`; bump it with the recipe.
const FINGERPRINT_KEY: &str = "ddlint/v1";

pub fn render(run: &Run<'_>, out: &mut dyn Write) -> io::Result<()> {
    // Without a working directory, relative paths still resolve against `%SRCROOT%`, which
    // the consumer then has to supply.
    let root = std::env::current_dir().ok();
    render_with_root(run, root.as_deref(), out)
}

/// Renders with artifact URIs relative to `root`, the directory the paths were given from.
fn render_with_root(run: &Run<'_>, root: Option<&Path>, out: &mut dyn Write) -> io::Result<()> {
    let rules = registry::all();
    let rule_index: HashMap<&str, usize> = rules.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let root = root.map(normalize);

    // The log is written piece by piece, each object reopened where it holds an array, so
    // that rules and results each take one line and results stream as they are made.
    let log = LogHead { schema: SCHEMA_URI, version: "2.1.0" };
    let driver = DriverHead {
        name: "ddlint",
        version: env!("CARGO_PKG_VERSION"),
        semantic_version: env!("CARGO_PKG_VERSION"),
        information_uri: env!("CARGO_PKG_REPOSITORY"),
    };
    write_open(&log, out)?;
    out.write_all(b",\"runs\":[\n{\"tool\":{\"driver\":")?;
    write_open(&driver, out)?;
    out.write_all(b",\"rules\":[")?;
    for (i, rule) in rules.iter().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, &rule_descriptor(rule))?;
    }
    let tail = RunTail {
        original_uri_base_ids: root.as_ref().map(|root| BaseIds { srcroot: BaseUri { uri: file_uri(root, true) } }),
        column_kind: "unicodeCodePoints",
        properties: RunProperties { pg_version: run.pg_version },
    };
    let tail = serde_json::to_string(&tail)?;
    write!(out, "\n]}}}},{},\"results\":[", &tail[1..tail.len() - 1])?;

    let mut first = true;
    for file in run.files {
        let (uri, relative) = artifact_uri(&file.path, root.as_deref());
        let mut occurrences = Occurrences::default();
        for diagnostic in &file.diagnostics {
            let fingerprint =
                occurrences.next(diagnostic.rule, &uri, &file.text, diagnostic.statement.unwrap_or(diagnostic.span));

            let result = SarifResult {
                rule_id: diagnostic.rule,
                rule_index: rule_index.get(diagnostic.rule).copied(),
                level: level(diagnostic.severity),
                message: Message { text: message_text(diagnostic) },
                locations: [Location {
                    physical_location: PhysicalLocation {
                        artifact_location: ArtifactLocation { uri: &uri, uri_base_id: relative.then_some(SRCROOT) },
                        region: region(file, diagnostic.span),
                    },
                }],
                partial_fingerprints: Fingerprints(fingerprint),
                fixes: fixes(file, diagnostic, &uri, relative, root.as_deref()),
            };
            out.write_all(if first { b"\n" } else { b",\n" })?;
            first = false;
            serde_json::to_writer(&mut *out, &result)?;
        }
    }
    out.write_all(if first { b"]}\n]}\n" } else { b"\n]}\n]}\n" })
}

/// Writes `value`, an object, without its closing brace, so that more fields can follow.
fn write_open(value: &impl Serialize, out: &mut dyn Write) -> io::Result<()> {
    let text = serde_json::to_string(value)?;
    out.write_all(&text.as_bytes()[..text.len() - 1])
}

#[derive(Serialize)]
struct LogHead {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DriverHead {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
}

/// The fields of the run that follow `tool`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunTail {
    #[serde(skip_serializing_if = "Option::is_none")]
    original_uri_base_ids: Option<BaseIds>,
    column_kind: &'static str,
    properties: RunProperties,
}

#[derive(Serialize)]
struct BaseIds {
    #[serde(rename = "%SRCROOT%")]
    srcroot: BaseUri,
}

#[derive(Serialize)]
struct BaseUri {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties {
    pg_version: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleDescriptor {
    id: &'static str,
    name: String,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    deprecated_ids: &'static [&'static str],
    short_description: Text,
    full_description: Text,
    help: Help,
    help_uri: String,
    default_configuration: DefaultConfiguration,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct DefaultConfiguration {
    enabled: bool,
    level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Message,
    locations: [Location<'a>; 1],
    partial_fingerprints: Fingerprints,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fixes: Vec<Fix<'a>>,
}

/// A finding's fix: its edits to the file, and each migration it adds as a file created
/// with its whole text.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Fix<'a> {
    description: Message,
    artifact_changes: Vec<ArtifactChange<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChange<'a> {
    artifact_location: ArtifactLocationOwned,
    replacements: Vec<Replacement<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocationOwned {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Replacement<'a> {
    deleted_region: Region,
    inserted_content: Content<'a>,
}

#[derive(Serialize)]
struct Content<'a> {
    text: std::borrow::Cow<'a, str>,
}

/// The SARIF form of the finding's fix, if it has one whose migrations can be named.
fn fixes<'a>(
    file: &FileReport,
    diagnostic: &'a Diagnostic,
    uri: &str,
    relative: bool,
    root: Option<&std::path::Path>,
) -> Vec<Fix<'a>> {
    let Some(fix) = &diagnostic.fix else { return Vec::new() };
    let Some(Ok(changes)) = crate::fix::preview(file, diagnostic) else { return Vec::new() };
    let base = |relative: bool| relative.then_some(SRCROOT);
    let mut artifact_changes = vec![ArtifactChange {
        artifact_location: ArtifactLocationOwned { uri: uri.to_owned(), uri_base_id: base(relative) },
        replacements: fix
            .edits
            .iter()
            .map(|e| Replacement {
                deleted_region: region(file, e.span),
                inserted_content: Content { text: std::borrow::Cow::Borrowed(&e.replacement) },
            })
            .collect(),
    }];
    for created in changes.into_iter().filter(|c| c.before.is_none()) {
        let (uri, relative) = artifact_uri(&created.path.to_string_lossy(), root);
        artifact_changes.push(ArtifactChange {
            artifact_location: ArtifactLocationOwned { uri, uri_base_id: base(relative) },
            replacements: vec![Replacement {
                deleted_region: Region { start_line: 1, start_column: 1, end_line: 1, end_column: 1 },
                inserted_content: Content { text: std::borrow::Cow::Owned(created.after) },
            }],
        });
    }
    let applicability = fix.applicability.as_str();
    vec![Fix { description: Message { text: format!("{} ({applicability})", fix.title) }, artifact_changes }]
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    physical_location: PhysicalLocation<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    artifact_location: ArtifactLocation<'a>,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation<'a> {
    uri: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

/// A text region; `endColumn` is the column just after the last character, as SARIF wants.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
}

/// `{"ddlint/v1": "<16 hex digits>"}`.
struct Fingerprints(u64);

impl Serialize for Fingerprints {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(FINGERPRINT_KEY, &format!("{:016x}", self.0))?;
        map.end()
    }
}

fn region(file: &FileReport, span: Span) -> Region {
    let start = position(file, span.start);
    let end = position(file, span.end);
    Region { start_line: start.line, start_column: start.column, end_line: end.line, end_column: end.column }
}

/// The 1-based position of `offset` in the file. An unreadable file has no lines at all, so
/// its findings sit at 1:1.
fn position(file: &FileReport, offset: usize) -> Position {
    if file.line_index.line_count() == 0 {
        return Position { line: 1, column: 1 };
    }
    file.line_index.position(&file.text, offset)
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn message_text(diagnostic: &Diagnostic) -> String {
    match &diagnostic.help {
        Some(help) => format!("{}\nhelp: {help}", diagnostic.message),
        None => diagnostic.message.clone(),
    }
}

/// A `reportingDescriptor` for one rule.
fn rule_descriptor(rule: &RuleMeta) -> RuleDescriptor {
    let markdown = markdown(rule.docs);
    let what_it_does = what_it_does(rule.docs);
    RuleDescriptor {
        id: rule.id,
        name: pascal_case(rule.id),
        deprecated_ids: rule.aliases,
        short_description: Text { text: first_sentence(&what_it_does).to_owned() },
        full_description: Text { text: what_it_does },
        help: Help { text: markdown.clone(), markdown },
        help_uri: format!("{}/blob/main/rules/{}.md", env!("CARGO_PKG_REPOSITORY"), rule.id),
        default_configuration: DefaultConfiguration {
            enabled: rule.default_enabled,
            level: level(rule.default_severity),
        },
    }
}

/// The rule's docs as Markdown: `/// text` reaches the macro as ` text`, so each line loses
/// one leading space.
fn markdown(docs: &str) -> String {
    let lines: Vec<&str> = docs.lines().map(|l| l.strip_prefix(' ').unwrap_or(l)).collect();
    lines.join("\n").trim().to_owned()
}

/// The paragraph under `## What it does`, with its wrapped lines joined.
fn what_it_does(docs: &str) -> String {
    let body = docs.split("## What it does").nth(1).unwrap_or(docs);
    let lines: Vec<&str> = body
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    lines.join(" ")
}

fn first_sentence(paragraph: &str) -> &str {
    paragraph.find(". ").map_or(paragraph, |end| &paragraph[..=end])
}

/// `rename-column` → `RenameColumn`, the conventional form of a SARIF rule name.
fn pascal_case(id: &str) -> String {
    id.split('-')
        .flat_map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_ascii_uppercase()).into_iter().chain(chars)
        })
        .collect()
}

/// The URI of a file as the user named it, and whether it is relative to `%SRCROOT%`.
///
/// A file under `root` gets a relative URI with forward slashes; any other file, an absolute
/// `file:` URI. Paths are cleaned lexically (`.` dropped, `..` folded) without touching the
/// filesystem.
fn artifact_uri(path: &str, root: Option<&Path>) -> (String, bool) {
    let path = Path::new(path);
    let Some(root) = root else {
        return if path.is_absolute() {
            (file_uri(&normalize(path), false), false)
        } else {
            (relative_uri(&normalize(path)), true)
        };
    };
    let absolute = normalize(&root.join(path));
    match absolute.strip_prefix(root) {
        Ok(relative) if !relative.as_os_str().is_empty() => (relative_uri(relative), true),
        _ => (file_uri(&absolute, false), false),
    }
}

pub(crate) use crate::discover::normalize;

fn relative_uri(path: &Path) -> String {
    let mut uri = String::new();
    for component in path.components() {
        if !uri.is_empty() {
            uri.push('/');
        }
        match component {
            Component::ParentDir => uri.push_str(".."),
            other => percent_encode(other.as_os_str().as_encoded_bytes(), &mut uri),
        }
    }
    uri
}

/// The `file:` URI of an absolute path; a directory's ends with `/` so that relative URIs
/// resolve inside it.
fn file_uri(path: &Path, directory: bool) -> String {
    let mut uri = String::from("file://");
    for component in path.components() {
        match component {
            // A Windows drive such as `C:` stays as it is: `file:///C:/db/001.sql`.
            Component::Prefix(prefix) => {
                uri.push('/');
                uri.push_str(&prefix.as_os_str().to_string_lossy().replace('\\', "/"));
            }
            Component::RootDir => {}
            Component::CurDir => uri.push_str("/."),
            Component::ParentDir => uri.push_str("/.."),
            Component::Normal(name) => {
                uri.push('/');
                percent_encode(name.as_encoded_bytes(), &mut uri);
            }
        }
    }
    if directory || uri == "file://" {
        uri.push('/');
    }
    uri
}

/// Appends one path segment, percent-encoding every byte that is not allowed in a segment
/// as it is. `:` is encoded too, so a relative URI can never be read as a scheme.
fn percent_encode(segment: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in segment {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap is a failed test.
mod tests {
    use super::super::fingerprint::{fingerprint_base, Fnv1a};
    use super::*;
    use ddlint_core::{lint_file, Settings};
    use serde_json::{json, Value};

    const ROOT: &str = "/home/dev/my app";

    fn run_of(files: &[FileReport]) -> Run<'_> {
        Run { files, color: false, pg_version: 15, ..Run::default() }
    }

    use crate::report::test_support::lint;

    fn render_value(files: &[FileReport]) -> Value {
        let mut out = Vec::new();
        render_with_root(&run_of(files), Some(Path::new(ROOT)), &mut out).unwrap();
        serde_json::from_slice(&out)
            .unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{}", String::from_utf8_lossy(&out)))
    }

    fn sarif_validator() -> jsonschema::Validator {
        let schema: Value =
            serde_json::from_str(include_str!("../../tests/data/sarif-schema-2.1.0.json")).expect("the schema is JSON");
        jsonschema::options().should_validate_formats(true).build(&schema).expect("the schema compiles")
    }

    /// Whether `uri` is a URI reference (RFC 3986). The official schema is draft-04, which
    /// has no `uri-reference` format, so it cannot check `artifactLocation.uri` itself.
    fn is_uri_reference(uri: &str) -> bool {
        let schema = json!({"$schema": "http://json-schema.org/draft-07/schema#", "format": "uri-reference"});
        let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("compiles");
        validator.is_valid(&json!(uri))
    }

    /// Fails with every schema error when `log` is not valid SARIF 2.1.0.
    fn assert_valid(log: &Value) {
        let validator = sarif_validator();
        let errors: Vec<String> = validator.iter_errors(log).map(|e| format!("{} at {}", e, e.instance_path)).collect();
        assert!(errors.is_empty(), "invalid SARIF:\n{}\n{log:#}", errors.join("\n"));
        for result in results(log) {
            let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
            assert!(is_uri_reference(uri), "{uri:?} is not a URI reference");
        }
    }

    /// Guards the guard: the schema and the URI check do reject broken logs.
    #[test]
    fn schema_rejects_broken_logs() {
        let validator = sarif_validator();
        let log = render_value(&[lint("a.sql", "SELEC 1;\n")]);
        assert!(validator.is_valid(&log));
        let mut zero_line = log.clone();
        zero_line["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = json!(0);
        assert!(!validator.is_valid(&zero_line));
        let mut bad_level = log.clone();
        bad_level["runs"][0]["results"][0]["level"] = json!("fatal");
        assert!(!validator.is_valid(&bad_level));
        let mut no_message = log.clone();
        no_message["runs"][0]["results"][0].as_object_mut().unwrap().remove("message");
        assert!(!validator.is_valid(&no_message));
        assert!(!is_uri_reference("db/a b.sql"));
        assert!(!is_uri_reference("db\\a.sql"));
        assert!(is_uri_reference("db/a%20b.sql"));
    }

    fn results(log: &Value) -> &Vec<Value> {
        log["runs"][0]["results"].as_array().unwrap()
    }

    fn of_rule<'a>(log: &'a Value, rule: &str) -> Vec<&'a Value> {
        results(log).iter().filter(|r| r["ruleId"] == rule).collect()
    }

    fn region(result: &Value) -> &Value {
        &result["locations"][0]["physicalLocation"]["region"]
    }

    #[test]
    fn snippets_render_valid_sarif() {
        let files = [
            lint("db/001 init.sql", "SET lock_timeout = '2s';\nALTER TABLE users RENAME COLUMN name TO full_name;\n"),
            lint("db/002.sql", "\\set ON_ERROR_STOP on\nSELECT 'é€' AS x; SELEC 1;\n"),
            lint("./db/../db/003.sql", "SELECT 1;\r\nSELEC 2;\r\n"),
            lint("/elsewhere/ümlaut.sql", "SELEC;"),
            lint_file("db/binary.sql", b"\xff\xfe\0\0", &Settings::default()),
        ];
        let log = render_value(&files);
        assert_valid(&log);
        for rule in ["rename-column", "syntax-error", "psql-meta-command", "unreadable-file"] {
            assert!(!of_rule(&log, rule).is_empty(), "no {rule} in {log:#}");
        }
    }

    #[test]
    fn empty_run_is_valid() {
        let log = render_value(&[]);
        assert_valid(&log);
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(log["$schema"], SCHEMA_URI);
        assert_eq!(results(&log).len(), 0);
        let rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), registry::all().len());
    }

    #[test]
    fn real_working_directory_renders_valid_sarif() {
        let files = [lint("a.sql", "SELEC 1;\n")];
        let mut out = Vec::new();
        render(&run_of(&files), &mut out).unwrap();
        let log: Value = serde_json::from_slice(&out).unwrap();
        assert_valid(&log);
        let base = log["runs"][0]["originalUriBaseIds"][SRCROOT]["uri"].as_str().unwrap();
        assert!(base.starts_with("file:///") && base.ends_with('/'), "{base}");
    }

    #[test]
    fn every_rule_is_described() {
        let log = render_value(&[]);
        let driver = &log["runs"][0]["tool"]["driver"];
        assert_eq!(driver["name"], "ddlint");
        for (i, rule) in registry::all().iter().enumerate() {
            let descriptor = &driver["rules"][i];
            assert_eq!(descriptor["id"], rule.id);
            assert_eq!(descriptor["defaultConfiguration"]["level"], level(rule.default_severity));
            assert_eq!(descriptor["defaultConfiguration"]["enabled"], rule.default_enabled);
            assert_eq!(
                descriptor["helpUri"],
                format!("https://github.com/ddlint/ddlint/blob/main/rules/{}.md", rule.id)
            );
            let full = descriptor["fullDescription"]["text"].as_str().unwrap();
            assert!(full.starts_with(&rule.summary()), "{full:?} vs {:?}", rule.summary());
            let short = descriptor["shortDescription"]["text"].as_str().unwrap();
            assert!(!short.is_empty() && full.starts_with(short), "{short:?}");
            let help = descriptor["help"]["markdown"].as_str().unwrap();
            assert!(help.starts_with("## What it does\n"), "{help}");
            assert!(help.contains("\n```sql\n"), "{help}");
        }
        let rename = &driver["rules"][registry::all().iter().position(|r| r.id == "rename-column").unwrap()];
        assert_eq!(rename["name"], "RenameColumn");
    }

    #[test]
    fn results_point_at_the_span() {
        let sql = "SELECT 1;\n-- café ☕\nSELECT 'é€' AS x; SELEC 1;\n";
        let log = render_value(&[lint("db/002.sql", sql)]);
        let result = of_rule(&log, "syntax-error")[0];
        assert_eq!(result["level"], "error");
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(registry::all()[index].id, "syntax-error");
        assert_eq!(*region(result), json!({"startLine": 3, "startColumn": 19, "endLine": 3, "endColumn": 24}));
        let artifact = &result["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(*artifact, json!({"uri": "db/002.sql", "uriBaseId": "%SRCROOT%"}));
        assert_eq!(log["runs"][0]["columnKind"], "unicodeCodePoints");
        assert_eq!(log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"], "file:///home/dev/my%20app/");
    }

    #[test]
    fn notes_and_help_reach_the_message() {
        let log = render_value(&[lint("a.sql", "\\set x 1\nALTER TABLE users RENAME COLUMN name TO full_name;\n")]);
        let note = of_rule(&log, "psql-meta-command")[0];
        assert_eq!(note["level"], "note");
        assert_eq!(region(note)["startLine"], 1);
        let rename = of_rule(&log, "rename-column")[0];
        let text = rename["message"]["text"].as_str().unwrap();
        assert!(text.contains("\nhelp: "), "{text}");
    }

    #[test]
    fn crlf_and_unreadable_regions() {
        let log = render_value(&[
            lint("crlf.sql", "SELECT 1;\r\n\r\nSELEC 2;\r\n"),
            lint_file("bin.sql", b"\xff\xfeS\0", &Settings::default()),
        ]);
        let syntax = of_rule(&log, "syntax-error")[0];
        assert_eq!(*region(syntax), json!({"startLine": 3, "startColumn": 1, "endLine": 3, "endColumn": 6}));
        let unreadable = of_rule(&log, "unreadable-file")[0];
        assert_eq!(*region(unreadable), json!({"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1}));
    }

    #[test]
    fn fingerprints_survive_line_shifts() {
        let sql = "SELECT 1;\nALTER TABLE users RENAME COLUMN name TO full_name;\nSELEC 1;\n";
        let shifted = format!("\n{}", sql.replace("RENAME COLUMN", "RENAME\n    COLUMN"));
        let before = render_value(&[lint("a.sql", sql)]);
        let after = render_value(&[lint("a.sql", &shifted)]);
        let fingerprints = |log: &Value| -> Vec<(String, String)> {
            results(log)
                .iter()
                .map(|r| {
                    (
                        r["ruleId"].as_str().unwrap().to_owned(),
                        r["partialFingerprints"][FINGERPRINT_KEY].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        };
        assert_eq!(fingerprints(&before), fingerprints(&after));
        assert!(fingerprints(&before).iter().any(|(rule, _)| rule == "rename-column"), "{before:#}");
        // The lines did move.
        let lines = |log: &Value| results(log).iter().map(|r| region(r)["startLine"].clone()).collect::<Vec<_>>();
        assert_ne!(lines(&before), lines(&after));
    }

    #[test]
    fn fingerprints_tell_duplicates_rules_and_files_apart() {
        let sql = "SELEC 1;\nSELEC 1;\n";
        let a = render_value(&[lint("a.sql", sql)]);
        let b = render_value(&[lint("b.sql", sql)]);
        let print = |log: &Value, i: usize| {
            results(log)[i]["partialFingerprints"][FINGERPRINT_KEY].as_str().unwrap().to_owned()
        };
        assert_eq!(results(&a).len(), 2, "{a:#}");
        assert_ne!(print(&a, 0), print(&a, 1));
        assert_ne!(print(&a, 0), print(&b, 0));
        assert_eq!(print(&a, 0).len(), 16);
    }

    #[test]
    fn fingerprint_recipe_is_fixed() {
        // The worked example in docs/output-formats.md. Changing the recipe breaks every
        // dashboard's history: bump FINGERPRINT_KEY along with it.
        let text = "\t-- moved\nALTER TABLE users\r\n  RENAME   COLUMN name TO full_name;\n";
        let statement = Span::new(text.find("ALTER").unwrap(), text.len());
        let base = fingerprint_base("rename-column", "db/001.sql", text, statement);
        assert_eq!(format!("{:016x}", base.finish(0)), "8ce5979322c1eee2");
        let mut by_hand = Fnv1a::new();
        by_hand.write(b"rename-column\0db/001.sql\0ALTER TABLE users RENAME COLUMN name TO full_name;\x000");
        assert_eq!(base.finish(0), by_hand.0);
    }

    #[test]
    fn artifact_uris() {
        let root = Some(Path::new("/home/dev/app"));
        let uri = |path: &str| artifact_uri(path, root);
        assert_eq!(uri("db/001.sql"), ("db/001.sql".to_owned(), true));
        assert_eq!(uri("./db/./001.sql"), ("db/001.sql".to_owned(), true));
        assert_eq!(uri("db/old/../001.sql"), ("db/001.sql".to_owned(), true));
        assert_eq!(uri("/home/dev/app/db/001.sql"), ("db/001.sql".to_owned(), true));
        assert_eq!(uri("db/my file#1:ü.sql"), ("db/my%20file%231%3A%C3%BC.sql".to_owned(), true));
        assert_eq!(uri("../other/001.sql"), ("file:///home/dev/other/001.sql".to_owned(), false));
        assert_eq!(uri("/srv/db 1/001.sql"), ("file:///srv/db%201/001.sql".to_owned(), false));
        assert_eq!(artifact_uri("../x.sql", None), ("../x.sql".to_owned(), true));
        assert_eq!(artifact_uri("/x.sql", None), ("file:///x.sql".to_owned(), false));
        assert_eq!(file_uri(Path::new("/"), true), "file:///");
    }
}
