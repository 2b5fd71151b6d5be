#!/usr/bin/env bash
# Runs the end-to-end suite against the production topology: the Temporal
# server v1.29.1 on Postgres persistence and visibility
# (scripts/temporal-on-postgres.sh), instead of the dev server.
#
#   E2E_RUN=regexp          only the matching tests (go test -run)
#   E2E_FRESH=1             on a brand-new database (a temporary
#                           TEMPORAL_PG_STATE, removed afterwards) instead of
#                           the reused .dev/temporal-postgres
#   TEMPORAL_PORT, PG_PORT  the server's and the throwaway Postgres' ports
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/temporal-on-postgres-bg.sh
source scripts/lib/temporal-on-postgres-bg.sh
port=${TEMPORAL_PORT:-7299}
log=.dev/logs/temporal-on-postgres.log
mkdir -p .dev/logs
fresh=""
if [[ ${E2E_FRESH:-} == 1 ]]; then
	fresh=$(mktemp -d "$(pwd)/.dev/temporal-postgres-fresh.XXXXXX")
	export TEMPORAL_PG_STATE=$fresh
	echo "==> fresh database in $fresh"
fi
temporal_on_postgres_bg "$port" "$log" "$fresh"
echo "==> e2e against the Temporal server on Postgres (127.0.0.1:$port)${E2E_RUN:+, tests matching $E2E_RUN}"
VERIFLOW_E2E_TEMPORAL_ADDRESS=127.0.0.1:$port go test -count=1 -timeout 20m ${E2E_RUN:+-run "$E2E_RUN"} ./test/e2e/
