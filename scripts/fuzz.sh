#!/usr/bin/env bash
# Fuzzes ddlint with cargo-fuzz: builds the targets in fuzz/, seeds their corpora from
# fixtures/ and ../shared/corpus, runs each target for SECONDS_PER_TARGET seconds (60 by
# default), one after another, and exits 1 when any target found a crash, a timeout or a leak.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]
#
# Environment:
#   FUZZ_TARGETS   the targets to run (default: "engine config reporters")
#   FUZZ_SEEDS     how many files of ../shared/corpus to seed the engine with (default 1500)
#   FUZZ_JOBS      libFuzzer -jobs/-workers per target (default 1)
#   FUZZ_MAX_LEN   the longest input, for every target (default: 32 KiB for the engine,
#                  8 KiB for the reporters, 4 KiB for the config)
#
# The working corpora (fuzz/corpus/<target>) are kept between runs and grow with coverage.
# Crashes are written to fuzz/artifacts/<target>/; replay one with
#   fuzz/target/x86_64-unknown-linux-gnu/release/<target> fuzz/artifacts/<target>/<file>
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and clang. A stable toolchain works:
# RUSTC_BOOTSTRAP=1 lets it accept the sanitizer flags cargo-fuzz passes.
set -euo pipefail
shopt -s nullglob

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
    exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz="$root/fuzz"
shared_corpus="$root/../shared/corpus"
read -r -a targets <<<"${FUZZ_TARGETS:-engine config reporters}"
seed_limit="${FUZZ_SEEDS:-1500}"
jobs="${FUZZ_JOBS:-1}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "error: cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

export RUSTC_BOOTSTRAP=1
# libpg_query is C: compile it with the same instrumentation as the Rust code, so the fuzzer
# sees its branches and ASan its memory. Its assertions are on, as in the test builds.
if command -v clang >/dev/null 2>&1; then
    export CC=clang CXX=clang++
    export CFLAGS="${CFLAGS:-} -fsanitize=address -fsanitize=fuzzer-no-link -DUSE_ASSERT_CHECKING"
else
    echo "warning: clang not found; libpg_query is built without instrumentation" >&2
fi

cd "$fuzz"
mkdir -p target
echo "building fuzz targets"
if ! cargo fuzz build >target/fuzz-build.log 2>&1; then
    tail -n 40 target/fuzz-build.log >&2
    echo "error: the fuzz targets did not build (log: fuzz/target/fuzz-build.log)" >&2
    exit 2
fi

max_len_of() {
    if [ -n "${FUZZ_MAX_LEN:-}" ]; then
        echo "$FUZZ_MAX_LEN"
        return
    fi
    case "$1" in
        engine) echo 32768 ;;
        reporters) echo 8192 ;;
        config) echo 4096 ;;
    esac
}

dict_of() {
    case "$1" in
        engine | reporters) echo "$fuzz/dicts/sql.dict" ;;
        config) echo "$fuzz/dicts/toml.dict" ;;
    esac
}

# Copies a file into a seed directory under its content hash, cut to the target's max_len.
add_seed() {
    local file="$1" dir="$2" max_len="$3" tmp
    tmp="$(mktemp)"
    head -c "$max_len" "$file" >"$tmp"
    mv "$tmp" "$dir/$(sha1sum "$tmp" | cut -c1-40)"
}

# Every `count`-th line of stdin, so that a limited sample still spans every project.
sample() {
    local count="$1" total step
    mapfile -t lines
    total="${#lines[@]}"
    step=$(((total + count - 1) / (count > 0 ? count : 1)))
    [ "$step" -ge 1 ] || step=1
    for ((i = 0; i < total; i += step)); do
        printf '%s\n' "${lines[i]}"
    done
}

seeds="$fuzz/target/seeds"
rm -rf "$seeds"
for target in "${targets[@]}"; do
    dir="$seeds/$target"
    mkdir -p "$dir" "$fuzz/corpus/$target"
    max_len="$(max_len_of "$target")"
    case "$target" in
        engine)
            find "$root/fixtures" -name '*.sql' | sort | while read -r f; do add_seed "$f" "$dir" "$max_len"; done
            if [ -d "$shared_corpus" ]; then
                find "$shared_corpus" -name '*.sql' | sort | sample "$seed_limit" |
                    while read -r f; do add_seed "$f" "$dir" "$max_len"; done
            fi
            ;;
        reporters)
            find "$root/fixtures" -name 'bad*.sql' | sort | while read -r f; do add_seed "$f" "$dir" "$max_len"; done
            # Hostile paths, messages and help texts: the parts are separated by a 0xFF byte.
            i=0
            # shellcheck disable=SC2016 # the backticks are part of the hostile paths
            for path in 'odd, name:1%0A.sql' $'line\nbreak\r.sql' '``back`ticks``.sql' ' spaced .sql' \
                '../outside/<&">.sql' $'ctl\x1b[31m\x01.sql' 'C:\db\x.sql' '#hash?q.sql' 'é€😀.sql'; do
                for sql in 'ALTER TABLE t RENAME a TO b;' $'SELECT \'\n```\n# h\n\';\nDROP INDEX i;' \
                    $'SELEC 1;\r\nCREATE INDEX i ON t (a);'; do
                    i=$((i + 1))
                    printf '%s\xff%s\xff%s\xff%s' "$path" "$sql" $'50% `x` ]]> <\n> \r&amp;' $'help\r\n``' \
                        >"$dir/hostile-$i"
                done
            done
            ;;
        config)
            find "$root/fixtures" "$root/crates" "$root/docs" -name 'ddlint.toml' 2>/dev/null |
                while read -r f; do add_seed "$f" "$dir" "$max_len"; done
            cat >"$dir/full" <<'TOML'
pg-version = 13
assume-in-transaction = true
fail-on = "error"
format = "json"
framework = "goose"
enable = ["rename-column", "prefer-bigint"]
disable = ["rename-table"]
include = ["migrations/**/*.sql", "{a,b}/[!x]*.sql"]
exclude = ["legacy", "*_old.sql"]

[rules]
set-not-null = "error"
missing-lock-timeout = "off"
TOML
            printf 'pg-version = 9\n' >"$dir/bad-version"
            printf '[rules]\nnot-a-rule = "error"\n' >"$dir/bad-rule"
            printf 'include = ["{unclosed"]\n' >"$dir/bad-glob"
            ;;
    esac
    echo "$target: $(find "$dir" -type f | wc -l) seeds, max_len $max_len"
done

status=0
summary=()
for target in "${targets[@]}"; do
    max_len="$(max_len_of "$target")"
    log="$fuzz/target/fuzz-$target.log"
    artifacts="$fuzz/artifacts/$target"
    mkdir -p "$artifacts"
    before="$(find "$artifacts" -type f | wc -l)"
    echo "fuzzing $target for ${seconds}s (log: ${log#"$root"/})"
    started="$(date +%s)"
    set +e
    parallel=()
    if [ "$jobs" -gt 1 ]; then
        parallel=(-jobs="$jobs" -workers="$jobs")
    fi
    # The binary built above, run directly: `cargo fuzz run` would rebuild whatever changed since.
    "target/x86_64-unknown-linux-gnu/release/$target" "corpus/$target" "$seeds/$target" \
        -artifact_prefix="$artifacts/" -max_total_time="$seconds" -max_len="$max_len" \
        -dict="$(dict_of "$target")" -timeout=30 -rss_limit_mb=4096 -malloc_limit_mb=4096 \
        -print_final_stats=1 "${parallel[@]}" >"$log" 2>&1
    code=$?
    set -e
    elapsed=$(($(date +%s) - started))
    after="$(find "$artifacts" -type f | wc -l)"
    # With -jobs, each worker's statistics are in its own fuzz-N.log.
    runs="$(awk '/stat::number_of_executed_units/ {s += $2} END {print s + 0}' "$log" fuzz-*.log 2>/dev/null || true)"
    rm -f fuzz-*.log
    line="$target: ${elapsed}s, $runs executions, exit $code, $((after - before)) new artifacts"
    summary+=("$line")
    if [ "$code" -ne 0 ] || [ "$after" -ne "$before" ]; then
        status=1
        echo "FAILED $line" >&2
        grep -E -m 20 'panicked at|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|SUMMARY|Test unit written' "$log" >&2 || true
    fi
done

echo
printf '%s\n' "${summary[@]}"
exit "$status"
