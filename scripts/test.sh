#!/usr/bin/env bash
# The whole test suite: unit, fixture, snapshot, CLI and corpus tests, the pre-commit hook
# built as a wheel, plus the lock model's verification against real PostgreSQL 14 to 18, whose
# servers this installs (once, under target/postgres), starts as throwaway clusters and stops
# again afterwards.
#
# Every test that needs a tool, a server or ../shared/corpus runs: what is missing is installed
# here, and DDLINT_REQUIRE_TOOLS makes a test that would still skip fail instead.
#
# Extra arguments go to `cargo test` (e.g. `--locked`). Without root or sudo for the installs,
# plain `cargo test --workspace` runs what it can and says what it skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# xmllint validates the JUnit output against its schema.
if ! command -v xmllint >/dev/null; then
    echo "installing libxml2-utils (xmllint)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxml2-utils >/dev/null
fi
# pre-commit runs the hook test, with the wheel that maturin builds.
for tool in pre-commit maturin; do
    if ! command -v "$tool" >/dev/null; then
        echo "installing $tool from PyPI"
        python3 -m pip install --quiet --user "$tool" 2>/dev/null ||
            python3 -m pip install --quiet --root-user-action=ignore "$tool"
    fi
done
export PATH="$PATH:$HOME/.local/bin"
export DDLINT_REQUIRE_TOOLS=1

bash verify/install-postgres.sh
trap 'bash verify/stop-clusters.sh' EXIT
bash verify/start-clusters.sh
# shellcheck disable=SC1091
source "${DDLINT_PG_RUN:-/tmp/ddlint-pg}/clusters.env"
export DDLINT_PG_CLUSTERS
cargo test --workspace "$@"
