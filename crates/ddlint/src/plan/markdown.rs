//! `PLAN.md`: the phases in order, the releases between them, what each locks, the checklist
//! before contract, and what cannot be undone.

use super::PhaseFiles;
use ddlint_core::plan::{Phase, Plan};
use ddlint_core::FileReport;
use std::fmt::Write as _;
use std::path::Path;

pub(super) fn render(
    report: &FileReport,
    plans: &[Plan],
    files: &[Vec<PhaseFiles>],
    shown: &dyn Fn(&Path) -> String,
    in_place: bool,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Plan for `{}`\n", report.path);
    let _ = writeln!(
        out,
        "Each change below breaks the release that is still running, or locks a busy table for long, \
         however it is written in one migration. It is told here in phases, each a migration that \
         runs on its own, with application releases between them where the change needs one.\n"
    );
    if in_place {
        let _ = writeln!(
            out,
            "The planned statements were taken out of `{}`; the phases below replace them.\n",
            report.path
        );
    } else {
        let _ = writeln!(
            out,
            "`{}` is left as it is: remove the planned statements from it (and from its down \
             migration) before adding these phases.\n",
            report.path
        );
    }
    for (plan, files) in plans.iter().zip(files) {
        render_plan(&mut out, plan, files, shown);
    }
    out
}

fn render_plan(out: &mut String, plan: &Plan, files: &[PhaseFiles], shown: &dyn Fn(&Path) -> String) {
    let _ = writeln!(out, "## {}\n", capitalised(&plan.title));
    let _ = writeln!(out, "| # | phase | up | down | locks | then |");
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
    for (n, (phase, files)) in plan.phases.iter().zip(files).enumerate() {
        let down = files.down.as_deref().map_or_else(|| "none".to_owned(), |d| format!("`{}`", shown(d)));
        let then = phase.release_after.as_deref().map_or_else(|| "next phase".to_owned(), |r| format!("**{r}**"));
        let _ = writeln!(
            out,
            "| {} | **{}**: {} | `{}` | {down} | {} | {then} |",
            n + 1,
            phase.kind.as_str(),
            phase.summary,
            shown(&files.up),
            locks(phase),
        );
    }
    out.push('\n');

    let _ = writeln!(out, "### Releases\n");
    let _ = writeln!(out, "- The release running now keeps working from the first phase until contract.");
    for (n, phase) in plan.phases.iter().enumerate() {
        if let Some(release) = &phase.release_after {
            let _ = writeln!(out, "- After phase {}: {release}.", n + 1);
        }
    }
    if let Some(contract) = plan.phases.iter().position(|p| p.kind == ddlint_core::plan::PhaseKind::Contract) {
        let _ = writeln!(out, "- Phase {} (contract) runs only once the checklist below holds.", contract + 1);
    }
    out.push('\n');

    if let Some(query) = &plan.verification {
        let _ = writeln!(out, "### Verification\n");
        let _ = writeln!(out, "After the backfill, this must return 0 before contract:\n");
        let _ = writeln!(out, "```sql\n{query};\n```\n");
        let _ = writeln!(
            out,
            "A backfill stopped part way (a lock timeout, a deploy) is run again as it is: it skips \
             the rows it already wrote.\n"
        );
    }
    if !plan.checklist.is_empty() {
        let _ = writeln!(out, "### Before contract\n");
        for item in &plan.checklist {
            let _ = writeln!(out, "- [ ] {}", capitalised(item));
        }
        out.push('\n');
    }
    let irreversible: Vec<(usize, &str)> =
        plan.phases.iter().enumerate().filter_map(|(n, p)| p.irreversible.as_deref().map(|i| (n + 1, i))).collect();
    if !irreversible.is_empty() {
        let _ = writeln!(out, "### What cannot be undone\n");
        for (n, what) in irreversible {
            let _ = writeln!(out, "- Phase {n}: {what}.");
        }
        out.push('\n');
    }
}

/// The locks of a phase's statements, strongest first, as a table cell.
fn locks(phase: &Phase) -> String {
    let mut cells: Vec<String> = phase
        .locks
        .iter()
        .filter_map(|l| {
            let mode = l.mode?;
            let on = l.relation.as_deref().map_or_else(String::new, |r| format!(" on `{r}`"));
            Some(format!("`{mode}`{on}, {}", l.holds))
        })
        .collect();
    cells.dedup();
    if cells.is_empty() {
        "none".to_owned()
    } else {
        cells.join("; ")
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}
