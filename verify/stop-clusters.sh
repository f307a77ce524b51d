#!/usr/bin/env bash
# Stops the clusters verify/start-clusters.sh started and deletes their data.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
run="${DDLINT_PG_RUN:-/tmp/ddlint-pg}"
versions="${DDLINT_PG_VERSIONS:-14 15 16 17 18}"
as_pg=()
[ "$(id -u)" -ne 0 ] || as_pg=(runuser -u ddlint-pg --)
for major in $versions; do
    data="$run/$major/data"
    [ -d "$data" ] || continue
    bin=$(cat "$run/$major/bin-dir" 2>/dev/null || "$root/verify/pg-bin.sh" "$major")
    "${as_pg[@]}" "$bin/pg_ctl" stop -D "$data" -m fast -w >/dev/null 2>&1 || true
    rm -rf "${run:?}/$major"
done
rm -f "$run/clusters.env"
