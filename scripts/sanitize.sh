#!/usr/bin/env bash
# Runs the engine's test suite under AddressSanitizer (with LeakSanitizer): the unit tests,
# the fixtures and the corpus of real migrations in ../shared/corpus. libpg_query's C code is
# compiled with -fsanitize=address too, so a bad read or write on either side of the FFI
# boundary stops the run.
#
#   scripts/sanitize.sh                          # cargo test -p ddlint-core --lib --tests --no-fail-fast
#   scripts/sanitize.sh -p ddlint --lib --test hostile --test cli  # the CLI, end to end
#
# Works on a stable toolchain: RUSTC_BOOTSTRAP=1 unlocks -Zsanitizer. The build goes to
# target/asan so that it never mixes with the normal one. Needs clang for the C code.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target="$(rustc -vV | sed -n 's/^host: //p')"
if [ "$target" != "x86_64-unknown-linux-gnu" ] && [ "$target" != "aarch64-unknown-linux-gnu" ]; then
    echo "error: AddressSanitizer runs are set up for Linux hosts, not $target" >&2
    exit 2
fi
if ! command -v clang >/dev/null 2>&1; then
    echo "error: clang is needed to build libpg_query with -fsanitize=address" >&2
    exit 2
fi

export RUSTC_BOOTSTRAP=1
# `--target` keeps these flags away from build scripts and proc-macros, which run on the host.
# `ddlint_sanitize` keeps the CLI on the system allocator, whose calls ASan intercepts.
export RUSTFLAGS="${RUSTFLAGS:-} -Zsanitizer=address -Cforce-frame-pointers=yes -Cdebuginfo=1 --cfg ddlint_sanitize"
# The C side: the target-specific variables reach only the cc builds of `$target`.
cflags_var="CFLAGS_${target//-/_}"
export "$cflags_var=-fsanitize=address -fno-omit-frame-pointer -g"
export "CC_${target//-/_}=clang"
# Test threads big enough that the engine never moves a deep parse to a stack of its own
# (see `ddlint_core::with_deep_stack`): AddressSanitizer loses track of a switched stack when
# libpg_query longjmps out of a parse error, and then reports false overflows
# (google/sanitizers#189).
export RUST_MIN_STACK=$((1 << 30))
# The same for the main thread of the binaries that the CLI tests run (the limit is in KiB).
if ! ulimit -s $((1 << 20)) 2>/dev/null; then
    echo "warning: cannot raise the stack limit; ASan may report false overflows in the CLI tests" >&2
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=0}"
# Symbolized reports, whichever llvm-symbolizer is around.
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
    for candidate in llvm-symbolizer $(compgen -c llvm-symbolizer- 2>/dev/null | sort -rV); do
        if command -v "$candidate" >/dev/null 2>&1; then
            ASAN_SYMBOLIZER_PATH="$(command -v "$candidate")"
            export ASAN_SYMBOLIZER_PATH
            break
        fi
    done
fi

# Doctests are left out (rustdoc does not take the sanitizer flags), so a selection passed
# on the command line should name its targets too.
if [ "$#" -eq 0 ]; then
    set -- -p ddlint-core --lib --tests --no-fail-fast
fi
exec cargo test --target "$target" --target-dir target/asan "$@"
