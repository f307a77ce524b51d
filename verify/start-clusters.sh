#!/usr/bin/env bash
# Starts one throwaway PostgreSQL cluster per major version (14 to 18) for the lock-model
# verification suite, each on 127.0.0.1 and a socket dir under /tmp, port 543MM
# (54314 … 54318). Prints the DDLINT_PG_CLUSTERS line the suite reads, and writes it to
# $DDLINT_PG_RUN/clusters.env. Stop them with verify/stop-clusters.sh.
#
# PostgreSQL refuses to run as root: as root, the servers run as the user `ddlint-pg`,
# created when missing. Data is thrown away on stop; fsync is off for speed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
run="${DDLINT_PG_RUN:-/tmp/ddlint-pg}"
versions="${DDLINT_PG_VERSIONS:-14 15 16 17 18}"

as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    id ddlint-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin ddlint-pg
    as_pg=(runuser -u ddlint-pg --)
fi

mkdir -p "$run"
chmod 755 "$run"
[ "${#as_pg[@]}" -eq 0 ] || chown ddlint-pg "$run"

clusters=()
for major in $versions; do
    bin=$("$root/verify/pg-bin.sh" "$major")
    # The unprivileged user may not reach the cache (a checkout under /root, say): then the
    # relocatable install is copied where it can.
    if [ "${#as_pg[@]}" -gt 0 ] && ! "${as_pg[@]}" test -x "$bin/postgres"; then
        copy="$run/install/$major"
        if [ ! -x "$copy/bin/postgres" ]; then
            rm -rf "$copy"
            mkdir -p "$run/install"
            cp -a "$(dirname "$bin")" "$copy"
            chmod -R a+rX "$run/install"
        fi
        bin="$copy/bin"
    fi
    port=$((54300 + major))
    data="$run/$major/data"
    sock="$run/$major"
    # pg_ctl refuses to run as root, so the status check runs as the cluster's user too.
    if [ -f "$data/postmaster.pid" ] && "${as_pg[@]}" "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1; then
        echo "PostgreSQL $major already running on port $port" >&2
    else
        # Nothing runs there (a stale postmaster.pid at most): start afresh.
        rm -rf "$run/$major"
        mkdir -p "$data"
        [ "${#as_pg[@]}" -eq 0 ] || chown -R ddlint-pg "$run/$major"
        chmod 700 "$data"
        "${as_pg[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C \
            >"$run/$major/initdb.log" 2>&1 || { cat "$run/$major/initdb.log" >&2; exit 1; }
        # autovacuum off: it would take locks and bump scan counters behind the suite's back.
        "${as_pg[@]}" "$bin/pg_ctl" start -w -t 60 -D "$data" -l "$run/$major/server.log" \
            -o "-p $port -k $sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c autovacuum=off -c max_connections=20 -c shared_buffers=32MB" \
            >/dev/null || { cat "$run/$major/server.log" >&2; exit 1; }
    fi
    echo "$bin" >"$run/$major/bin-dir"
    clusters+=("$major=host=$sock port=$port user=postgres dbname=postgres")
done

line=$(IFS=,; echo "${clusters[*]}")
printf 'DDLINT_PG_CLUSTERS=%q\n' "$line" >"$run/clusters.env"
echo "clusters running; connect with:"
for c in "${clusters[@]}"; do echo "  PostgreSQL ${c%%=*}: psql \"${c#*=}\""; done
echo "export DDLINT_PG_CLUSTERS='$line'"
