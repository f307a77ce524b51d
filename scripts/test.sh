#!/usr/bin/env bash
# The whole test suite: unit, fixture, snapshot, CLI and corpus tests, plus the lock model's
# verification against real PostgreSQL 14 to 18, whose servers this installs (once, under
# target/postgres), starts as throwaway clusters and stops again afterwards.
#
# Extra arguments go to `cargo test` (e.g. `--locked`). Without root or sudo for the server
# install, plain `cargo test --workspace` runs everything but the server verification.
set -euo pipefail
cd "$(dirname "$0")/.."

bash verify/install-postgres.sh
trap 'bash verify/stop-clusters.sh' EXIT
bash verify/start-clusters.sh
# shellcheck disable=SC1091
source "${DDLINT_PG_RUN:-/tmp/ddlint-pg}/clusters.env"
export DDLINT_PG_CLUSTERS
cargo test --workspace "$@"
