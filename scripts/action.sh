#!/usr/bin/env bash
# The logic of the GitHub Action (action.yml at the repository root runs this script).
#
# Inputs arrive only as environment variables, never spliced into the script's text:
#   INPUT_PATHS         files, directories or globs, separated by whitespace; empty: detect
#                       the migration directories
#   INPUT_PG_VERSION    --pg-version
#   INPUT_CONFIG        --config
#   INPUT_FAIL_ON       --fail-on
#   INPUT_CHANGED_ONLY  on pull requests, lint only the .sql files the pull request adds or
#                       changes (default true)
#   INPUT_SARIF_FILE    also write a SARIF log there
#   INPUT_SUMMARY       append the Markdown report to the job summary (default true)
#   INPUT_VERSION       the ddlint release to install: `latest`, `0.2.0` or `v0.2.0`; empty:
#                       the action's own tag when it is a version, else `latest`
# and from GitHub: GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_STEP_SUMMARY, GITHUB_OUTPUT,
# GITHUB_ACTION_PATH, GITHUB_SERVER_URL, RUNNER_OS, RUNNER_ARCH, RUNNER_TEMP, and
# DDLINT_ACTION_REF (the action's ref), DDLINT_REPOSITORY (where releases are downloaded
# from, default ddlint/ddlint) and GITHUB_TOKEN (for the releases API, optional).
#
# DDLINT_BIN, when set, is the ddlint binary to run; nothing is then installed.
#
# Annotations (`--format github`) go to standard output. The exit status is ddlint's: 0 clean,
# 1 findings at or above fail-on, 2 usage, configuration or I/O errors.
#
# Written for bash 3.2 too (macOS's /bin/bash): no `${x,,}`, `mapfile` or associative arrays.
set -euo pipefail

say() {
    printf 'ddlint-action: %s\n' "$*" >&2
}

die() {
    printf '::error title=ddlint::%s\n' "$*"
    exit 2
}

is_true() {
    case "$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')" in
        true | yes | on | 1) return 0 ;;
        *) return 1 ;;
    esac
}

work_dir() {
    local base="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
    mktemp -d "$base/ddlint-action.XXXXXX"
}

# --- installing ddlint -------------------------------------------------------------------

# The Rust target triple of a release build that runs on this runner. Linux gets the static
# musl build, which runs on any distribution.
release_target() {
    local os arch
    case "${RUNNER_OS:-$(uname -s)}" in
        Linux) os=unknown-linux-musl ;;
        macOS | Darwin) os=apple-darwin ;;
        Windows | MINGW* | MSYS* | CYGWIN*) os=pc-windows-msvc ;;
        *) return 1 ;;
    esac
    case "${RUNNER_ARCH:-$(uname -m)}" in
        X64 | x86_64 | amd64 | AMD64) arch=x86_64 ;;
        ARM64 | arm64 | aarch64) arch=aarch64 ;;
        *) return 1 ;;
    esac
    # No Windows ARM build: the x86_64 one runs there under emulation.
    if [ "$os" = pc-windows-msvc ]; then
        arch=x86_64
    fi
    printf '%s-%s\n' "$arch" "$os"
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

# The release tag to install, from INPUT_VERSION or the action's own ref.
wanted_tag() {
    local version="${INPUT_VERSION:-}"
    if [ -z "$version" ]; then
        case "${DDLINT_ACTION_REF:-}" in
            v[0-9]*.*) version="$DDLINT_ACTION_REF" ;;
            *) version=latest ;;
        esac
    fi
    if [ "$version" = latest ]; then
        local api="${GITHUB_API_URL:-https://api.github.com}/repos/$REPOSITORY/releases/latest"
        local auth=()
        if [ -n "${GITHUB_TOKEN:-}" ]; then
            auth=(-H "Authorization: Bearer $GITHUB_TOKEN")
        fi
        curl -fsSL --retry 3 ${auth[@]+"${auth[@]}"} "$api" 2>/dev/null |
            sed -n 's/^[[:space:]]*"tag_name":[[:space:]]*"\([^"]*\)".*/\1/p' | head -n 1
        return 0
    fi
    case "$version" in
        v*) printf '%s\n' "$version" ;;
        *) printf 'v%s\n' "$version" ;;
    esac
}

# Downloads the release archive for this runner, checks its SHA-256 and sets `bin` to the
# binary. Fails (status 1) when there is no such release; a checksum that does not match is
# fatal.
download_release() {
    local tag target version ext exe archive url dir expected actual
    tag="$(wanted_tag)"
    [ -n "$tag" ] || return 1
    target="$(release_target)" || return 1
    version="${tag#v}"
    ext=tar.gz
    exe=ddlint
    case "$target" in
        *windows*)
            ext=zip
            exe=ddlint.exe
            ;;
    esac
    archive="ddlint-$version-$target.$ext"
    url="${GITHUB_SERVER_URL:-https://github.com}/$REPOSITORY/releases/download/$tag"
    dir="$(work_dir)"
    say "downloading $url/$archive"
    curl -fsSL --retry 3 -o "$dir/$archive" "$url/$archive" || return 1
    curl -fsSL --retry 3 -o "$dir/$archive.sha256" "$url/$archive.sha256" || return 1
    expected="$(cut -d' ' -f1 <"$dir/$archive.sha256" | tr -d '\r\n')"
    actual="$(sha256_of "$dir/$archive")"
    if [ "$expected" != "$actual" ]; then
        die "checksum mismatch for $archive: expected $expected, got $actual"
    fi
    case "$ext" in
        zip) (cd "$dir" && unzip -q "$archive") ;;
        *) tar -xzf "$dir/$archive" -C "$dir" ;;
    esac
    [ -f "$dir/ddlint-$version-$target/$exe" ] || return 1
    bin="$dir/ddlint-$version-$target/$exe"
}

# Builds ddlint from the action's own checkout and sets `bin`. Needs a Rust toolchain and
# libclang.
build_from_source() {
    local root="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/ddlint-cargo"
    local source="${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}/crates/ddlint"
    say "no release binary for this runner; building with cargo install from $source"
    cargo install --locked --quiet --path "$source" --root "$root" >&2 || return 1
    bin="$root/bin/ddlint"
    if [ -x "$root/bin/ddlint.exe" ]; then
        bin="$root/bin/ddlint.exe"
    fi
}

# Sets `bin` to the ddlint to run: DDLINT_BIN, else a release binary, else one built here.
install_ddlint() {
    if [ -n "${DDLINT_BIN:-}" ]; then
        bin="$DDLINT_BIN"
        return 0
    fi
    download_release || build_from_source || die "could not install ddlint"
}

# --- choosing the files ------------------------------------------------------------------

# Directories that look like migration folders and hold .sql files, outermost only.
detect_paths() {
    find . \( -name .git -o -name node_modules -o -name target -o -name vendor -o -name .venv \) -prune -o \
        -type d \( -name migrations -o -name migration -o -name 'migrate*' -o -name sql \) -print 2>/dev/null |
        sed 's|^\./||' | LC_ALL=C sort |
        {
            kept=()
            while IFS= read -r dir; do
                nested=false
                for parent in ${kept[@]+"${kept[@]}"}; do
                    case "$dir/" in "$parent"/*) nested=true ;; esac
                done
                if ! $nested && [ -n "$(find "$dir" -type f -name '*.sql' -print 2>/dev/null | head -n 1)" ]; then
                    kept+=("$dir")
                    printf '%s\n' "$dir"
                fi
            done
        }
}

# The base commit of the pull request (or merge queue entry) that triggered the run.
event_base_sha() {
    local event="${GITHUB_EVENT_PATH:-}" query
    [ -f "$event" ] || return 0
    case "${GITHUB_EVENT_NAME:-}" in
        pull_request | pull_request_target) query=pull_request.base.sha ;;
        merge_group) query=merge_group.base_sha ;;
        *) return 0 ;;
    esac
    if command -v jq >/dev/null 2>&1; then
        jq -r ".$query // empty" "$event"
        return 0
    fi
    local python
    for python in python3 python; do
        if command -v "$python" >/dev/null 2>&1; then
            "$python" -c '
import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2].split("."):
    value = value.get(key) if isinstance(value, dict) else None
print(value or "")
' "$event" "$query"
            return 0
        fi
    done
    say "neither jq nor python is installed: cannot read the event payload"
}

# The .sql files added, copied, modified or renamed since `$1`, NUL-separated.
changed_sql_files() {
    local base="$1"
    if ! git cat-file -e "$base^{commit}" 2>/dev/null; then
        say "fetching the base commit $base"
        git fetch --no-tags --quiet --depth=1 origin "$base" >&2 || true
    fi
    # With the history, compare with the merge base, as the pull request's diff does.
    # Without it (a shallow checkout of the merge commit), compare the trees directly.
    if git merge-base "$base" HEAD >/dev/null 2>&1; then
        git diff --name-only --diff-filter=ACMR -z "$base...HEAD" -- '*.sql'
    else
        git diff --name-only --diff-filter=ACMR -z "$base" HEAD -- '*.sql'
    fi
}

# Whether the file `$1` is one of the paths to lint or lies under one of them.
selected() {
    local file="$1" path
    for path in ${paths[@]+"${paths[@]}"}; do
        path="${path#./}"
        path="${path%/}"
        if [ -z "$path" ] || [ "$path" = . ] || [ "$file" = "$path" ]; then
            return 0
        fi
        case "$file" in
            "$path"/*) return 0 ;;
        esac
        # A glob: `*` matches across `/` here, like `**` does for ddlint.
        # shellcheck disable=SC2053
        if [[ "$file" == $path ]]; then
            return 0
        fi
    done
    return 1
}

# --- reporting ---------------------------------------------------------------------------

summary_line() {
    if is_true "${INPUT_SUMMARY:-true}" && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
        printf '%s\n' "$*" >>"$GITHUB_STEP_SUMMARY"
    fi
}

set_output() {
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
    fi
}

# GitHub drops a job summary above 1 MiB; cut it below that, at a line break.
append_summary() {
    local file="$1" limit=1000000
    if [ "$(wc -c <"$file")" -gt "$limit" ]; then
        head -c "$limit" "$file" | sed '$d' >>"$GITHUB_STEP_SUMMARY"
        printf '\n*The report was cut at 1 MB: see the annotations or the SARIF log for the rest.*\n' \
            >>"$GITHUB_STEP_SUMMARY"
    else
        cat "$file" >>"$GITHUB_STEP_SUMMARY"
    fi
}

# Writes a SARIF log without results, so that an upload step finds its file.
empty_sarif() {
    local empty
    empty="$(work_dir)"
    "$bin" check --no-config --allow-no-files --format sarif "$empty" >"$INPUT_SARIF_FILE" || true
}

finish() {
    set_output exit-code "$1"
    exit "$1"
}

# --- main --------------------------------------------------------------------------------

REPOSITORY="${DDLINT_REPOSITORY:-ddlint/ddlint}"
bin=""
install_ddlint
say "using $("$bin" --version)"

if [ -n "${INPUT_SARIF_FILE:-}" ]; then
    mkdir -p "$(dirname "$INPUT_SARIF_FILE")"
    set_output sarif-file "$INPUT_SARIF_FILE"
fi

paths=()
if [ -n "${INPUT_PATHS:-}" ]; then
    set -f
    # shellcheck disable=SC2086 # Split on whitespace, without glob expansion: ddlint expands globs.
    set -- $INPUT_PATHS
    set +f
    paths=("$@")
else
    while IFS= read -r dir; do
        paths+=("$dir")
    done < <(detect_paths)
    if [ ${#paths[@]} -eq 0 ]; then
        # shellcheck disable=SC2016 # The backticks are Markdown.
        printf '::warning title=ddlint::no migration directory found (migrations/, db/migrate*/, sql/ … with .sql files): set the `paths` input\n'
        summary_line "ddlint: no migration directory found; set the \`paths\` input."
        [ -z "${INPUT_SARIF_FILE:-}" ] || empty_sarif
        finish 0
    fi
    say "linting the migration directories: ${paths[*]}"
fi

targets=("${paths[@]}")
args=(check)
base=""
if is_true "${INPUT_CHANGED_ONLY:-true}"; then
    base="$(event_base_sha)"
fi
if [ -n "$base" ]; then
    changed=0
    while IFS= read -r -d '' file; do
        if selected "$file"; then
            changed=$((changed + 1))
        fi
    done < <(changed_sql_files "$base")
    if [ "$changed" -eq 0 ]; then
        say "this pull request changes no .sql file under: ${paths[*]}"
        summary_line "ddlint: this pull request changes no migration."
        [ -z "${INPUT_SARIF_FILE:-}" ] || empty_sarif
        finish 0
    fi
    # The pull request is one change set: what it creates is new, and the migrations
    # before it are replayed as history.
    args+=(--changed-since "$base")
    say "linting the $changed .sql file(s) this pull request adds or changes"
fi

[ -z "${INPUT_PG_VERSION:-}" ] || args+=(--pg-version "$INPUT_PG_VERSION")
[ -z "${INPUT_CONFIG:-}" ] || args+=(--config "$INPUT_CONFIG")
[ -z "${INPUT_FAIL_ON:-}" ] || args+=(--fail-on "$INPUT_FAIL_ON")

status=0
"$bin" "${args[@]}" --format github -- "${targets[@]}" || status=$?

# The other reports repeat the run; its errors were already printed by the first one.
if is_true "${INPUT_SUMMARY:-true}" && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    report="$(work_dir)/summary.md"
    "$bin" "${args[@]}" --format markdown -- "${targets[@]}" >"$report" 2>/dev/null || true
    append_summary "$report"
fi
if [ -n "${INPUT_SARIF_FILE:-}" ]; then
    "$bin" "${args[@]}" --format sarif -- "${targets[@]}" >"$INPUT_SARIF_FILE" 2>/dev/null || true
fi

finish "$status"
