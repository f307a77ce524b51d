#!/usr/bin/env bash
# Prints the bin directory of PostgreSQL MAJOR as verify/install-postgres.sh installs it.
set -euo pipefail
major=${1:?usage: pg-bin.sh MAJOR}
root=$(cd "$(dirname "$0")/.." && pwd)
cache="${DDLINT_PG_CACHE:-$root/target/postgres}"
if [ "$major" = 15 ]; then
    echo /usr/lib/postgresql/15/bin
else
    echo "$cache/$major/bin"
fi
