#!/usr/bin/env bash
# Verifies ddlint's lock model against real PostgreSQL 14, 15, 16, 17 and 18:
# installs the servers (verify/install-postgres.sh), starts a throwaway cluster per version
# (verify/start-clusters.sh), runs the lock-verify suite against all of them, and stops the
# clusters again whatever the outcome. Exits non-zero when the model and a server disagree.
#
# Extra arguments go to `cargo test` (e.g. `--locked`). DDLINT_VERIFY_FILTER=NAME runs only
# the cases whose name contains NAME; DDLINT_VERIFY_VERBOSE=1 also prints how every "may"
# of the model turned out.
set -euo pipefail
cd "$(dirname "$0")/.."

bash verify/install-postgres.sh
trap 'bash verify/stop-clusters.sh' EXIT
bash verify/start-clusters.sh
run="${DDLINT_PG_RUN:-/tmp/ddlint-pg}"
# shellcheck disable=SC1091
source "$run/clusters.env"
export DDLINT_PG_CLUSTERS
cargo test -p lock-verify "$@" --test verify
