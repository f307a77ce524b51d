//! `cargo xtask corpus-report`: findings per rule over the corpus of real migrations, with
//! and without framework and history awareness, and a sample of the findings that history
//! and framework awareness add or remove, for review by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// One way of running ddlint over the corpus.
struct Mode {
    name: &'static str,
    flags: &'static [&'static str],
}

const MODES: [Mode; 3] = [
    Mode { name: "plain", flags: &["--no-history", "--framework", "plain"] },
    Mode { name: "+framework", flags: &["--no-history"] },
    Mode { name: "+history", flags: &[] },
];

/// A finding, as `(path, line, rule, message)`. Two runs' findings are compared without
/// the message, which history can make more precise without changing the finding.
type Finding = (String, u64, String, String);

fn key(finding: &Finding) -> (&str, u64, &str) {
    (&finding.0, finding.1, &finding.2)
}

pub fn run(root: &Path, corpus: &Path, sample: usize) -> Result<(), String> {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "-p", "ddlint"])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("building ddlint failed".to_owned());
    }
    let binary = root.join("target/release/ddlint");
    // Paths are reported relative to the corpus.
    let corpus = &corpus.canonicalize().map_err(|e| format!("{}: {e}", corpus.display()))?;
    let mut runs: Vec<BTreeSet<Finding>> = Vec::new();
    for mode in &MODES {
        let output = Command::new(&binary)
            .args(["check", "--no-config", "--format", "json"])
            .args(mode.flags)
            .arg(".")
            .current_dir(corpus)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        if output.status.code().is_none_or(|c| c > 2) {
            return Err(format!("ddlint failed in mode {}: {}", mode.name, String::from_utf8_lossy(&output.stderr)));
        }
        let json: serde_json::Value =
            serde_json::from_slice(&output.stdout).map_err(|e| format!("ddlint printed no JSON: {e}"))?;
        let findings = json["diagnostics"]
            .as_array()
            .ok_or("no diagnostics in the JSON output")?
            .iter()
            .map(|d| {
                let text = |key: &str| d[key].as_str().unwrap_or_default().to_owned();
                (text("path"), d["start"]["line"].as_u64().unwrap_or(0), text("rule"), text("message"))
            })
            .collect();
        runs.push(findings);
    }

    let mut per_rule: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for (i, findings) in runs.iter().enumerate() {
        for (_, _, rule, _) in findings {
            per_rule.entry(rule).or_default()[i] += 1;
        }
    }
    println!("Findings per rule over {} ({} modes: {})\n", corpus.display(), MODES.len(), mode_legend());
    println!("| rule | {} | {} | {} | change |", MODES[0].name, MODES[1].name, MODES[2].name);
    println!("| --- | ---: | ---: | ---: | ---: |");
    let mut totals = [0usize; 3];
    for (rule, counts) in &per_rule {
        for (total, count) in totals.iter_mut().zip(counts) {
            *total += count;
        }
        let change = i64::try_from(counts[2]).unwrap_or(i64::MAX) - i64::try_from(counts[0]).unwrap_or(i64::MAX);
        println!("| {rule} | {} | {} | {} | {change:+} |", counts[0], counts[1], counts[2]);
    }
    let change = i64::try_from(totals[2]).unwrap_or(i64::MAX) - i64::try_from(totals[0]).unwrap_or(i64::MAX);
    println!("| **total** | {} | {} | {} | {change:+} |", totals[0], totals[1], totals[2]);

    let before: BTreeSet<_> = runs[0].iter().map(key).collect();
    let after: BTreeSet<_> = runs[2].iter().map(key).collect();
    let removed: Vec<&Finding> = runs[0].iter().filter(|f| !after.contains(&key(f))).collect();
    let added: Vec<&Finding> = runs[2].iter().filter(|f| !before.contains(&key(f))).collect();
    print_sample("Removed by framework and history awareness", &removed, sample);
    print_sample("Added by framework and history awareness", &added, sample);
    Ok(())
}

fn mode_legend() -> String {
    MODES.iter().map(|m| format!("{} = `{}`", m.name, m.flags.join(" "))).collect::<Vec<_>>().join(", ")
}

/// Every `len / count`-th finding, so the sample spreads over the corpus and the rules.
fn print_sample(title: &str, findings: &[&Finding], count: usize) {
    println!("\n{title}: {} findings; a sample of {}:\n", findings.len(), count.min(findings.len()));
    if findings.is_empty() || count == 0 {
        return;
    }
    let step = (findings.len() / count).max(1);
    for (path, line, rule, message) in findings.iter().step_by(step).take(count) {
        println!("- `{path}:{line}` {rule}: {message}");
    }
}
