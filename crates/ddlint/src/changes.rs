//! The change set under review: the files a pull request adds or modifies, from git
//! (`--changed-since <rev>`) or named one by one (`--changed <path>`).

use crate::history::canonical;
use std::collections::HashSet;

/// The files under review, as canonical paths.
#[derive(Debug, Default)]
pub struct ChangeSet {
    /// Every file added or modified: these are reported.
    pub files: HashSet<PathBuf>,
    /// The files that are new deploys. A modified migration has usually run already, so
    /// what it creates is not new; a new file's objects are empty and unread.
    pub added: HashSet<PathBuf>,
}
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The files added, copied, modified, renamed or retyped since `rev`, plus untracked files
/// that git does not ignore. Like a pull request's diff, the comparison starts at the merge
/// base of `rev` and `HEAD`, and includes uncommitted changes.
pub fn since(rev: &str, cwd: &Path) -> Result<ChangeSet, String> {
    let context = |e: String| format!("--changed-since {rev}: {e}");
    let top = git(cwd, ["rev-parse", "--show-toplevel"]).map_err(context)?;
    let top = PathBuf::from(top.trim_end_matches(['\n', '\r']));
    let commit = format!("{rev}^{{commit}}");
    git(&top, ["rev-parse", "--verify", "--quiet", &commit])
        .map_err(|_| context(format!("`{rev}` is not a commit in this repository")))?;
    // Unrelated histories have no merge base; the revision itself is then the base.
    let base = git(&top, ["merge-base", rev, "HEAD"]).map_or_else(|_| rev.to_owned(), |b| b.trim().to_owned());
    let changed = git(&top, ["diff", "--name-status", "-z", "--diff-filter=ACMRT", &base, "--"]).map_err(context)?;
    let untracked = git(&top, ["ls-files", "--others", "--exclude-standard", "-z"]).map_err(context)?;
    let mut set = ChangeSet::default();
    // `-z --name-status` prints `status\0path\0`, and `status\0old\0new\0` for copies and renames.
    let mut fields = changed.split('\0').filter(|f| !f.is_empty());
    while let Some(status) = fields.next() {
        let two_paths = status.starts_with(['R', 'C']);
        let path = if two_paths { fields.nth(1) } else { fields.next() };
        let Some(path) = path else { break };
        let path = canonical(&top.join(path), cwd);
        if status.starts_with(['A', 'C', 'R']) {
            set.added.insert(path.clone());
        }
        set.files.insert(path);
    }
    for path in untracked.split('\0').filter(|p| !p.is_empty()) {
        let path = canonical(&top.join(path), cwd);
        set.added.insert(path.clone());
        set.files.insert(path);
    }
    Ok(set)
}

/// The files named with `--changed`, all taken as new deploys; each must exist.
pub fn listed(paths: &[PathBuf], cwd: &Path) -> Result<ChangeSet, String> {
    let mut set = ChangeSet::default();
    for path in paths {
        if let Err(e) = std::fs::metadata(path) {
            return Err(format!("--changed {}: {}", path.display(), crate::describe_io(&e)));
        }
        set.files.insert(canonical(path, cwd));
    }
    set.added.clone_from(&set.files);
    Ok(set)
}

fn git<I, S>(dir: &Path, args: I) -> Result<String, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {}", crate::describe_io(&e)))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("git failed").trim();
        return Err(message.trim_start_matches("fatal: ").to_owned());
    }
    String::from_utf8(output.stdout).map_err(|_| "git printed a path that is not UTF-8".to_owned())
}
