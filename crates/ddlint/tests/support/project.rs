//! A temporary project tree and the built binary run in it, for the end-to-end tests of
//! history, frameworks and layouts.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_ddlint");

pub struct Project {
    dir: TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }

    fn diagnostics(&self) -> Vec<serde_json::Value> {
        self.json()["diagnostics"].as_array().expect("diagnostics array").clone()
    }

    /// `(path, rule)` of every finding.
    pub fn findings(&self) -> BTreeSet<(String, String)> {
        self.diagnostics()
            .iter()
            .map(|d| (d["path"].as_str().unwrap_or("").to_owned(), d["rule"].as_str().unwrap_or("").to_owned()))
            .collect()
    }

    /// `(path, line, rule)` of every finding.
    pub fn findings_with_lines(&self) -> BTreeSet<(String, u64, String)> {
        self.diagnostics()
            .iter()
            .map(|d| {
                let path = d["path"].as_str().unwrap_or("").to_owned();
                let line = d["start"]["line"].as_u64().or_else(|| d["line"].as_u64()).unwrap_or(0);
                (path, line, d["rule"].as_str().unwrap_or("").to_owned())
            })
            .collect()
    }

    /// The lines of `path` where `rule` reported, in order.
    pub fn lines_of(&self, path: &str, rule: &str) -> Vec<u64> {
        self.findings_with_lines().into_iter().filter(|(p, _, r)| p == path && r == rule).map(|(_, l, _)| l).collect()
    }

    pub fn has(&self, path: &str, rule: &str) -> bool {
        self.findings().contains(&(path.to_owned(), rule.to_owned()))
    }

    pub fn rules(&self) -> BTreeSet<String> {
        self.findings().into_iter().map(|(_, rule)| rule).collect()
    }

    pub fn rules_of(&self, path: &str) -> BTreeSet<String> {
        self.findings().into_iter().filter(|(p, _)| p == path).map(|(_, rule)| rule).collect()
    }

    pub fn paths(&self) -> BTreeSet<String> {
        self.findings().into_iter().map(|(path, _)| path).collect()
    }

    pub fn severity_of(&self, rule: &str) -> Vec<String> {
        self.diagnostics()
            .iter()
            .filter(|d| d["rule"] == rule)
            .map(|d| d["severity"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    pub fn files_checked(&self) -> u64 {
        self.json()["files_checked"].as_u64().unwrap_or(u64::MAX)
    }
}

impl Project {
    pub fn new() -> Self {
        Self { dir: tempfile::Builder::new().prefix("ddlint-project").tempdir().expect("temporary directory") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, path: &str, contents: &str) -> &Self {
        let path = self.path().join(path);
        fs::create_dir_all(path.parent().expect("a parent")).expect("create the directory");
        fs::write(path, contents).expect("write the file");
        self
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let output = Command::new(BIN)
            .args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run ddlint");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `ddlint check` in JSON, without a config file.
    pub fn check(&self, args: &[&str]) -> Run {
        let mut all = vec!["check", "--no-config", "--format", "json"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// The human report's header line of `path` (printed when the run checks more than one file).
    pub fn header(&self, args: &[&str], path: &str) -> String {
        let mut all = vec!["check", "--no-config", "--format", "human", "--color", "never"];
        all.extend_from_slice(args);
        let run = self.run(&all);
        run.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(path))
            .unwrap_or_else(|| panic!("no header for {path} in:\n{}{}", run.stdout, run.stderr))
            .trim()
            .to_owned()
    }

    /// Runs git in the project, with an identity and no user or system configuration.
    pub fn git(&self, args: &[&str]) {
        let status = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run git");
        assert!(status.success(), "git {args:?} failed");
    }
}
