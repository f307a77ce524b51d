#!/usr/bin/env bash
# Builds a release binary of ddlint for one Rust target and packages it the way the GitHub
# release carries it (.github/workflows/release.yml runs this on each platform):
#
#   target/dist/ddlint-<version>-<target>.tar.gz        (.zip for Windows)
#   target/dist/ddlint-<version>-<target>.tar.gz.sha256 ("<hex digest>  <archive name>")
#
# The archive holds one directory, ddlint-<version>-<target>/, with the binary, README.md and
# the licence files. The binary is run once (`--version` and a lint of a fixture) when it
# can run here.
#
# With --wheel it also builds the `ddlint` Python wheel for the target into target/wheels/
# (maturin, crates/ddlint/pyproject.toml), from the same build. A static musl binary runs on
# every Linux, so a musl target's wheel is written twice: tagged manylinux for every glibc
# distribution, and musllinux for Alpine and the like; pip then needs no other Linux wheel.
#
# Usage: scripts/build-release.sh <target> [--wheel]   e.g. x86_64-unknown-linux-musl
#
# Needs: the Rust target (`rustup target add <target>`), libclang (bindgen), and for
# *-linux-musl a musl C compiler: `musl-gcc` from Debian's musl-tools for the host's own
# architecture, or `<arch>-linux-musl-gcc`, and the `clang` driver, which bindgen asks where
# the compiler's own headers are when the target is not the host's. DDLINT_VERSION overrides the version in the
# archive's name (default: the workspace version in Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${1:?usage: scripts/build-release.sh <target> [--wheel]}"
wheel=false
[ "${2:-}" != "--wheel" ] || wheel=true
version="${DDLINT_VERSION:-$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)}"
[ -n "$version" ] || {
    echo "error: cannot read the workspace version from Cargo.toml" >&2
    exit 2
}

# The C part (libpg_query) is compiled by the cc crate, which looks for a compiler for the
# target under CC_<target>; musl builds need a musl one.
case "$target" in
    *-linux-musl*)
        var="CC_$(printf '%s' "$target" | tr '-' '_')"
        arch="${target%%-*}"
        if [ -z "${!var:-}" ]; then
            if command -v "$arch-linux-musl-gcc" >/dev/null 2>&1; then
                export "$var=$arch-linux-musl-gcc"
            elif command -v musl-gcc >/dev/null 2>&1 && [ "$arch" = "$(uname -m)" ]; then
                export "$var=musl-gcc"
            else
                echo "error: no musl C compiler for $target (install musl-tools)" >&2
                exit 2
            fi
        fi
        ;;
esac

# A build directory of its own, so that a release build neither waits for nor blocks the
# debug builds in target/ (it shares nothing with them anyway).
target_dir="${CARGO_TARGET_DIR:-target/release-build}"

echo "== building ddlint $version for $target"
start=$(date +%s)
cargo build --release --locked -p ddlint --target "$target" --target-dir "$target_dir"
echo "== built in $(($(date +%s) - start)) s"

exe=ddlint
ext=tar.gz
case "$target" in
    *windows*)
        exe=ddlint.exe
        ext=zip
        ;;
esac
binary="$target_dir/$target/release/$exe"

# Run the binary when this machine can: it must start and find the unsafe statement.
if "$binary" --version >/dev/null 2>&1; then
    "$binary" --version
    status=0
    "$binary" check --no-config --format github fixtures/rename-column/bad.sql >/dev/null || status=$?
    if [ "$status" -ne 1 ]; then
        echo "error: $binary check exited with $status on an unsafe fixture, not 1" >&2
        exit 1
    fi
    "$binary" check --no-config fixtures/examples/0001_create_users.sql
else
    echo "== $binary cannot run on this machine; not smoke-tested"
fi

name="ddlint-$version-$target"
dist=target/dist
stage="$dist/$name"
rm -rf "$stage"
mkdir -p "$stage"
cp "$binary" README.md "$stage/"
for licence in LICENSE*; do
    if [ -e "$licence" ]; then
        cp "$licence" "$stage/"
    fi
done

archive="$name.$ext"
rm -f "$dist/$archive"
case "$ext" in
    zip)
        if command -v 7z >/dev/null 2>&1; then
            (cd "$dist" && 7z a -tzip -bd "$archive" "$name" >/dev/null)
        else
            (cd "$dist" && zip -qr "$archive" "$name")
        fi
        ;;
    *)
        # A fixed owner and order keep the archive the same from one build to the next.
        (
            cd "$dist"
            if ! tar --owner=0 --group=0 --numeric-owner --sort=name -czf "$archive" "$name" 2>/dev/null; then
                # BSD tar (macOS) has neither option.
                tar -czf "$archive" "$name"
            fi
        )
        ;;
esac
rm -rf "$stage"

if command -v sha256sum >/dev/null 2>&1; then
    (cd "$dist" && sha256sum "$archive" >"$archive.sha256")
else
    (cd "$dist" && shasum -a 256 "$archive" >"$archive.sha256")
fi
cat "$dist/$archive.sha256"
ls -l "$dist/$archive"

if [ "$wheel" = true ]; then
    echo "== building the ddlint wheel for $target"
    python=$(command -v python3 || command -v python)
    command -v maturin >/dev/null 2>&1 || "$python" -m pip install --quiet 'maturin>=1.9,<2'
    wheels=target/wheels
    mkdir -p "$wheels"
    CARGO_TARGET_DIR="$target_dir" maturin build --release --locked --target "$target" \
        --manifest-path crates/ddlint/Cargo.toml --out "$wheels"
    case "$target" in
        *-linux-musl*)
            # The binary is static, so maturin tags its wheel manylinux (it needs no glibc);
            # pip on musl distributions accepts only musllinux tags, hence a second copy.
            arch="${target%%-*}"
            built=$(ls "$wheels"/ddlint-"$version"-*manylinux*"$arch".whl)
            # `wheel tags` rewrites a wheel's platform tag (wheel 0.40 and later).
            "$python" -c 'import wheel.cli.tags' 2>/dev/null || "$python" -m pip install --quiet 'wheel>=0.40'
            "$python" -m wheel tags --platform-tag "musllinux_1_2_$arch" "$built"
            ;;
    esac
    ls -l "$wheels"
fi
