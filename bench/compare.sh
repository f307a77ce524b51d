#!/usr/bin/env bash
# Whole-process benchmark of ddlint against squawk and against the parse-only floor.
#
# Usage: bench/compare.sh [RUNS] [CORPUS]
#   RUNS    rounds of measurements, the median is reported (default 5, or $RUNS)
#   CORPUS  directory of migrations (default ../shared/corpus, relative to the repository root)
#
# Measures wall time and peak resident memory (`/usr/bin/time`) of:
#   - `ddlint check --format json` over the corpus and over a generated file of 20,000 mixed
#     DDL statements (bench/gen.py), and `--format human` over that file;
#   - squawk (`pip install squawk-cli` into target/bench/venv, installed when missing) on the
#     same inputs with its equivalent flags;
#   - the parse-only floor: `pg_query::parse` alone over the same files, spread over the
#     machine's cores (crates/ddlint-core/examples/parse_floor.rs), and below it PostgreSQL's
#     grammar alone, without libpg_query's protobuf encoding.
# Prints a Markdown table, then whether each target is met. Needs python3 and /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${1:-${RUNS:-5}}"
CORPUS="${2:-../shared/corpus}"
SQUAWK_VERSION="${SQUAWK_VERSION:-2.70.0}"
STATEMENTS=20000
PG_VERSION=15

TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
BENCH_DIR="$TARGET_DIR/bench"
mkdir -p "$BENCH_DIR"

echo "building ddlint and the parse floor (release)…" >&2
cargo build --release --quiet -p ddlint
cargo build --release --quiet -p ddlint-core --example parse_floor
DDLINT="$TARGET_DIR/release/ddlint"
FLOOR="$TARGET_DIR/release/examples/parse_floor"

MIXED="$(python3 bench/gen.py --statements "$STATEMENTS" "$BENCH_DIR/mixed-$STATEMENTS.sql")"

SQUAWK="$BENCH_DIR/venv/bin/squawk"
if [[ ! -x "$SQUAWK" ]] || ! "$SQUAWK" --version | grep -qF "$SQUAWK_VERSION"; then
    echo "installing squawk-cli $SQUAWK_VERSION into $BENCH_DIR/venv…" >&2
    python3 -m venv "$BENCH_DIR/venv"
    "$BENCH_DIR/venv/bin/pip" install --quiet "squawk-cli==$SQUAWK_VERSION"
fi

# The measurements run in rounds, each command once per round, so that a machine that slows
# down or speeds up during the run moves every column alike and the ratios stay fair.
SAMPLES="$BENCH_DIR/samples"
rm -rf "$SAMPLES"
mkdir -p "$SAMPLES"

# Runs a command once with its output thrown away and appends "<seconds> <peak KB>" to the
# samples of $1. Exit status 1 (findings) is expected; 2 is an error. A command that took
# longer than $SLOW seconds in the first round is not run again: it is nowhere near a target.
SLOW="${SLOW:-20}"
sample() {
    local key="$1" status=0
    shift
    if [[ -s "$SAMPLES/$key" ]] && python3 -c "import sys; sys.exit(float(sys.argv[1]) <= $SLOW)" "$(head -1 "$SAMPLES/$key" | cut -d' ' -f1)"; then
        return
    fi
    /usr/bin/time -f "%e %M" -o "$BENCH_DIR/time.txt" "$@" >/dev/null 2>"$BENCH_DIR/stderr.txt" || status=$?
    if [[ $status -gt 1 ]]; then
        echo "error: \`$*\` exited with $status:" >&2
        tail -5 "$BENCH_DIR/stderr.txt" >&2
        exit 2
    fi
    tail -1 "$BENCH_DIR/time.txt" >>"$SAMPLES/$key"
}

# One run of the parse floor's measurement $2 over the remaining arguments, appended to the
# samples of $1 (its memory is not measured).
floor_sample() {
    local key="$1" name="$2"
    shift 2
    "$FLOOR" --runs 1 --only "$name" "$@" 2>/dev/null | awk -F'\t' '{ print $2, 0 }' >>"$SAMPLES/$key"
}

# The median wall time in seconds and the median peak memory in MB of the samples of $1.
median() {
    python3 - "$SAMPLES/$1" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
print(f"{statistics.median(float(r[0]) for r in rows):.2f} {statistics.median(int(r[1]) for r in rows) / 1024:.0f}")
EOF
}

for round in $(seq "$RUNS"); do
    echo "measuring, round $round of $RUNS…" >&2
    sample corpus "$DDLINT" check --format json "$CORPUS"
    sample mixed "$DDLINT" check --format json "$MIXED"
    sample human "$DDLINT" check --format human --color never "$MIXED"
    sample sq_corpus "$SQUAWK" --reporter json --pg-version "$PG_VERSION" "$CORPUS/**/*.sql"
    sample sq_mixed "$SQUAWK" --reporter json --pg-version "$PG_VERSION" "$MIXED"
    sample sq_human "$SQUAWK" --reporter tty --pg-version "$PG_VERSION" "$MIXED"
    floor_sample floor_corpus pg_query::parse "$CORPUS"
    floor_sample floor_mixed pg_query::parse "$MIXED"
    floor_sample split_corpus 'scan+parse' "$CORPUS"
    floor_sample split_mixed 'scan+parse' "$MIXED"
    floor_sample grammar_corpus raw_parser "$CORPUS"
done
read -r corpus_t corpus_m < <(median corpus)
read -r mixed_t mixed_m < <(median mixed)
read -r human_t human_m < <(median human)
read -r sq_corpus_t sq_corpus_m < <(median sq_corpus)
read -r sq_mixed_t sq_mixed_m < <(median sq_mixed)
read -r sq_human_t sq_human_m < <(median sq_human)
read -r floor_corpus _ < <(median floor_corpus)
read -r floor_mixed _ < <(median floor_mixed)
read -r split_corpus _ < <(median split_corpus)
read -r split_mixed _ < <(median split_mixed)
read -r grammar_corpus _ < <(median grammar_corpus)

# What each tool makes of the corpus: files, findings, and files with syntax errors.
"$DDLINT" check --format json "$CORPUS" >"$BENCH_DIR/ddlint-corpus.json" || true
"$SQUAWK" --reporter json --pg-version "$PG_VERSION" "$CORPUS/**/*.sql" >"$BENCH_DIR/squawk-corpus.json" 2>/dev/null || true
read -r files ddlint_findings ddlint_refused squawk_findings squawk_refused < <(python3 - "$BENCH_DIR" <<'EOF'
import json, sys
d = json.load(open(f"{sys.argv[1]}/ddlint-corpus.json"))
s = json.load(open(f"{sys.argv[1]}/squawk-corpus.json"))
refused = lambda rows, key, path: len({r[path] for r in rows if r[key] == "syntax-error"})
print(d["files_checked"], len(d["diagnostics"]), refused(d["diagnostics"], "rule", "path"),
      len(s), refused(s, "rule_name", "file"))
EOF
)

ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
cores="$(nproc)"

cat <<EOF
$files files in \`$CORPUS\`, $(wc -c <"$MIXED" | awk '{printf "%.1f MB", $1 / 1e6}') in the generated file; $cores cores; median of $RUNS runs.

| Benchmark | ddlint | peak memory | squawk $SQUAWK_VERSION | peak memory | ddlint / squawk | parse floor | ddlint / floor |
|---|---:|---:|---:|---:|---:|---:|---:|
| corpus, \`--format json\` | ${corpus_t} s | ${corpus_m} MB | ${sq_corpus_t} s | ${sq_corpus_m} MB | $(ratio "$corpus_t" "$sq_corpus_t") | ${floor_corpus} s | $(ratio "$corpus_t" "$floor_corpus") |
| $STATEMENTS statements, \`--format json\` | ${mixed_t} s | ${mixed_m} MB | ${sq_mixed_t} s | ${sq_mixed_m} MB | $(ratio "$mixed_t" "$sq_mixed_t") | ${floor_mixed} s | $(ratio "$mixed_t" "$floor_mixed") |
| $STATEMENTS statements, \`--format human\` | ${human_t} s | ${human_m} MB | ${sq_human_t} s | ${sq_human_m} MB | $(ratio "$human_t" "$sq_human_t") | ${floor_mixed} s | $(ratio "$human_t" "$floor_mixed") |

The parse floor is \`pg_query::parse\` over each whole file, alone, on $cores threads, files read beforehand.
A measurement slower than $SLOW s ran once.
Scanning, then parsing each statement alone (what ddlint does only in files with syntax errors; it parses a file, or the pieces of a large one, in one pass with its scan), takes ${split_corpus} s over the corpus and ${split_mixed} s over the generated file.
PostgreSQL's grammar alone (libpg_query's internal \`pg_query_raw_parse\`, without the protobuf encoding and decoding every public entry point adds) takes ${grammar_corpus} s over the corpus.
ddlint finds $ddlint_findings findings in the corpus and reports syntax errors in $ddlint_refused files; squawk finds $squawk_findings and reports syntax errors in $squawk_refused files (its own parser rejects them).
EOF

verdict() { python3 -c "import sys; print('met' if eval(sys.argv[1]) else 'missed')" "$1"; }
cat <<EOF

Targets:
- corpus at most half of squawk's wall time: $(verdict "$corpus_t <= $sq_corpus_t / 2")
- corpus within 1.3× of the parse floor: $(verdict "$corpus_t <= 1.3 * $floor_corpus")
- \`--format human\` on $STATEMENTS statements under 2 s: $(verdict "$human_t < 2")
- peak memory under 200 MB: $(verdict "max($corpus_m, $mixed_m, $human_m) < 200")
EOF
