#!/usr/bin/env bash
# Every documented way to install ddlint, tried as a new user on a machine that never built it:
# a fresh clone of HEAD, an empty CARGO_HOME, an empty target directory, fresh virtual
# environments. Each path must end in a ddlint that runs and finds the unsafe examples.
#
#   1. the README's quick start: `cargo run --release -p ddlint -- check fixtures/examples`
#   2. the packaged crates: `cargo publish --dry-run` of ddlint-core and ddlint, which builds
#      them as packaged
#   3. `cargo install --locked --path crates/ddlint` and `cargo install --locked --git <repo>`
#   4. offline, with another empty CARGO_HOME and `cargo vendor` sources: a build of the
#      checkout, and `cargo install --locked` from the packaged ddlint and ddlint-core
#   5. the wheel: `maturin build`, `pip install` into a fresh virtual environment, `ddlint`
#      from it; the source distribution built by pip; `uvx`/`pipx run` from the wheel
#   6. the pre-commit hook in a throwaway repository, with pip pointed at that wheel
#
# Needs what the README asks of a new user (a Rust toolchain, libclang, git, python3) and the
# package registries. The builds after the first share its target directory, as a user's
# second build would; each path's time is printed and summed up at the end.
#
# Usage: scripts/fresh-machine.sh [WORK_DIR]     (default: a new temporary directory)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work="${1:-$(mktemp -d -t ddlint-fresh-XXXXXX)}"
mkdir -p "$work"
work=$(cd "$work" && pwd)

# Nothing of this machine's cargo state may help: no cache, no target, no wrappers.
export CARGO_HOME="$work/cargo-home"
export CARGO_TARGET_DIR="$work/target"
unset RUSTC_WRAPPER CARGO_BUILD_TARGET_DIR CARGO_INCREMENTAL DDLINT_PG_QUERY_DIR
mkdir -p "$CARGO_HOME"
export PATH="$CARGO_HOME/bin:$PATH"
# The toolchain itself stays rustup's; only cargo's home is new.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

timings=()
step_start=0
step() {
    echo
    echo "== $1"
    step_name="$1"
    step_start=$(date +%s)
}
done_step() {
    local seconds=$(($(date +%s) - step_start))
    timings+=("$(printf '%5d s  %s' "$seconds" "$step_name")")
    echo "== done in $seconds s"
}
fail() {
    echo "error: $*" >&2
    exit 1
}

# `ddlint check` over the bundled examples must exit 1 and name a finding.
expect_findings() {
    local status=0 output
    output=$("$@" 2>&1) || status=$?
    printf '%s\n' "$output" | tail -n 5
    [ "$status" -eq 1 ] || fail "\`$*\` exited with $status, not 1"
    printf '%s\n' "$output" | grep -q 'warning\[create-index-non-concurrently\]' ||
        fail "\`$*\` did not report create-index-non-concurrently"
}

clone="$work/ddlint"
git clone -q --no-local "$root" "$clone"
cd "$clone"
echo "fresh clone of $(git rev-parse --short HEAD) in $clone; CARGO_HOME=$CARGO_HOME"

step "quick start: cargo run --release -p ddlint -- check fixtures/examples (cold)"
expect_findings cargo run --release -p ddlint -- check fixtures/examples
done_step

step "packaged crates: cargo publish --dry-run -p ddlint-core -p ddlint"
cargo publish --dry-run --locked -p ddlint-core -p ddlint
# The .crate files themselves, where `cargo package` documents them, for the offline install.
cargo package --locked --no-verify -p ddlint-core -p ddlint
for crate in ddlint-core ddlint; do
    listing=$(cargo package --list --locked -p "$crate")
    printf '%s\n' "$listing" | grep -q '^Cargo.lock$' || [ "$crate" = ddlint-core ] ||
        fail "the packaged $crate carries no Cargo.lock"
done
done_step

step "cargo install --locked --path crates/ddlint"
cargo install --locked --root "$work/install-path" --path crates/ddlint
expect_findings "$work/install-path/bin/ddlint" check fixtures/examples
done_step

step "cargo install --locked --git file://$clone ddlint"
cargo install --locked --root "$work/install-git" --git "file://$clone" ddlint
expect_findings "$work/install-git/bin/ddlint" check fixtures/examples
done_step

step "offline, from cargo vendor sources, with an empty CARGO_HOME: a build, and cargo install from the packaged ddlint"
cargo vendor --locked "$work/vendor" >"$work/vendor-config.toml" 2>"$work/vendor.log"
# The packaged ddlint names ddlint-core 0.1.0 from crates.io, which has no such release from
# this commit: the packaged ddlint-core joins the vendored sources in its place, under the
# checksum the packaged Cargo.lock records for it.
packaged="$CARGO_TARGET_DIR/package"
rm -rf "$work/vendor/ddlint-core"
tar -xzf "$packaged/ddlint-core-0.1.0.crate" -C "$work/vendor"
mv "$work/vendor/ddlint-core-0.1.0" "$work/vendor/ddlint-core"
checksum=$(sha256sum "$packaged/ddlint-core-0.1.0.crate" | cut -d' ' -f1)
printf '{"files":{},"package":"%s"}' "$checksum" >"$work/vendor/ddlint-core/.cargo-checksum.json"
rm -rf "$work/install-packaged-src"
tar -xzf "$packaged/ddlint-0.1.0.crate" -C "$work"
mv "$work/ddlint-0.1.0" "$work/install-packaged-src"
# A target directory of its own: vendored sources live at other paths, so sharing the first
# one would make cargo rebuild every dependency here and again for the wheel.
(
    export CARGO_HOME="$work/cargo-home-offline"
    export CARGO_TARGET_DIR="$work/target-offline"
    mkdir -p "$CARGO_HOME"
    cp "$work/vendor-config.toml" "$CARGO_HOME/config.toml"
    cargo build --release --locked --offline -p ddlint
    cargo install --locked --offline --root "$work/install-packaged" --path "$work/install-packaged-src"
)
expect_findings "$work/target-offline/release/ddlint" check fixtures/examples
expect_findings "$work/install-packaged/bin/ddlint" check fixtures/examples
done_step

step "wheel: maturin build, pip install into a fresh virtual environment"
python3 -m venv "$work/build-venv"
"$work/build-venv/bin/pip" install --quiet maturin
"$work/build-venv/bin/maturin" build --release --locked --manifest-path crates/ddlint/Cargo.toml --out "$work/wheels"
wheel=$(ls "$work"/wheels/ddlint-*.whl)
echo "built $(basename "$wheel") ($(du -h "$wheel" | cut -f1))"
python3 -m venv "$work/user-venv"
"$work/user-venv/bin/pip" install --quiet --no-index --find-links "$work/wheels" ddlint
expect_findings "$work/user-venv/bin/ddlint" check fixtures/examples
done_step

step "source distribution: maturin sdist, then pip builds it into a fresh virtual environment"
# Where no wheel fits the platform, pip builds ddlint from this, with the versions in Cargo.lock.
"$work/build-venv/bin/maturin" sdist --manifest-path crates/ddlint/Cargo.toml --out "$work/sdist"
python3 -m venv "$work/sdist-venv"
"$work/sdist-venv/bin/pip" install --quiet --no-binary ddlint "$work"/sdist/ddlint-*.tar.gz
expect_findings "$work/sdist-venv/bin/ddlint" check fixtures/examples
done_step

step "uvx and pipx run from the wheel"
"$work/build-venv/bin/pip" install --quiet uv pipx
expect_findings env UV_CACHE_DIR="$work/uv-cache" "$work/build-venv/bin/uvx" --no-index --find-links "$work/wheels" \
    ddlint check fixtures/examples
expect_findings env PIPX_HOME="$work/pipx-home" PIPX_BIN_DIR="$work/pipx-bin" \
    "$work/build-venv/bin/pipx" run --spec "$wheel" ddlint check fixtures/examples
done_step

step "pre-commit hook from the wheel, in a throwaway repository"
"$work/build-venv/bin/pip" install --quiet pre-commit
project="$work/project"
mkdir -p "$project/db/migrations"
cat >"$project/.pre-commit-config.yaml" <<EOF
repos:
  - repo: $clone
    rev: $(git rev-parse HEAD)
    hooks:
      - id: ddlint
        files: ^db/migrations/.*\.sql\$
EOF
printf 'CREATE TABLE users (id bigint PRIMARY KEY);\n' >"$project/db/migrations/001_create.sql"
printf "SET lock_timeout = '2s';\nALTER TABLE users RENAME COLUMN name TO full_name;\n" >"$project/db/migrations/002_rename.sql"
(
    cd "$project"
    git init -q
    git add -A
    status=0
    output=$(PRE_COMMIT_HOME="$work/pre-commit-home" PIP_FIND_LINKS="$work/wheels" \
        "$work/build-venv/bin/pre-commit" run --color never --all-files 2>&1) || status=$?
    printf '%s\n' "$output"
    [ "$status" -eq 1 ] || fail "the hook exited with $status, not 1"
    printf '%s\n' "$output" | grep -q 'warning\[rename-column\]' || fail "the hook did not report rename-column"
)
done_step

echo
echo "== fresh-machine paths, each timed on this machine"
printf '%s\n' "${timings[@]}"
