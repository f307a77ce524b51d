#!/usr/bin/env bash
# The `ddlint` pre-commit hook (.pre-commit-hooks.yaml). pre-commit keeps a checkout of this
# repository in its cache and runs this script from it with `check` and the staged files.
# The first run builds ddlint there (a few minutes, needs cargo and libclang) and keeps only
# the binary; later runs reuse it. With DDLINT_BIN set, that binary is run instead and
# nothing is built.
set -euo pipefail

if [ -n "${DDLINT_BIN:-}" ]; then
    exec "$DDLINT_BIN" "$@"
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
bin_dir="$root/target/pre-commit-bin"
exe=ddlint
case "$(uname -s)" in
    MINGW* | MSYS* | CYGWIN*) exe=ddlint.exe ;;
esac
if [ ! -x "$bin_dir/$exe" ]; then
    echo "ddlint: building from source; this happens once per ddlint version" >&2
    build="$root/target/pre-commit-build"
    cargo build --release --locked --quiet -p ddlint --manifest-path "$root/Cargo.toml" --target-dir "$build" >&2
    mkdir -p "$bin_dir"
    # Moved into place in one step, so that a concurrent run never sees half a binary.
    cp "$build/release/$exe" "$bin_dir/$exe.$$"
    mv -f "$bin_dir/$exe.$$" "$bin_dir/$exe"
    # The build directory is hundreds of megabytes that pre-commit's cache need not keep.
    rm -rf "$build"
fi
exec "$bin_dir/$exe" "$@"
