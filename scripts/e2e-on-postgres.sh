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
port=${TEMPORAL_PORT:-7299}
log=.dev/logs/temporal-on-postgres.log
mkdir -p .dev/logs
fresh=""
if [[ ${E2E_FRESH:-} == 1 ]]; then
	fresh=$(mktemp -d "$(pwd)/.dev/temporal-postgres-fresh.XXXXXX")
	export TEMPORAL_PG_STATE=$fresh
	echo "==> fresh database in $fresh"
fi
start=$SECONDS
TEMPORAL_PORT=$port setsid scripts/temporal-on-postgres.sh >"$log" 2>&1 &
pgid=$!
cleanup() {
	kill -TERM -- -$pgid 2>/dev/null || true
	wait $pgid 2>/dev/null || true
	if [[ -n $fresh ]]; then rm -rf "$fresh"; fi
}
trap cleanup EXIT
for _ in $(seq 1 600); do
	grep -q "==> ready" "$log" && break
	kill -0 $pgid 2>/dev/null || { echo "temporal-on-postgres failed:" >&2; tail -20 "$log" >&2; exit 1; }
	sleep 1
done
grep -q "==> ready" "$log" || { echo "temporal-on-postgres not ready" >&2; tail -20 "$log" >&2; exit 1; }
echo "$(grep "==> ready" "$log") — $((SECONDS - start))s after launch"
echo "==> e2e against the Temporal server on Postgres (127.0.0.1:$port)${E2E_RUN:+, tests matching $E2E_RUN}"
VERIFLOW_E2E_TEMPORAL_ADDRESS=127.0.0.1:$port go test -count=1 -timeout 20m ${E2E_RUN:+-run "$E2E_RUN"} ./test/e2e/
