#!/usr/bin/env bash
# Runs the end-to-end suite against the production topology: the Temporal
# server v1.29.1 on Postgres persistence and visibility
# (scripts/temporal-on-postgres.sh), instead of the dev server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
port=${TEMPORAL_PORT:-7299}
log=.dev/logs/temporal-on-postgres.log
mkdir -p .dev/logs
TEMPORAL_PORT=$port setsid scripts/temporal-on-postgres.sh >"$log" 2>&1 &
pgid=$!
trap 'kill -TERM -- -$pgid 2>/dev/null || true; wait $pgid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
	grep -q "==> ready" "$log" && break
	kill -0 $pgid 2>/dev/null || { echo "temporal-on-postgres failed:" >&2; tail -20 "$log" >&2; exit 1; }
	sleep 1
done
grep -q "==> ready" "$log" || { echo "temporal-on-postgres not ready" >&2; exit 1; }
echo "==> e2e against the Temporal server on Postgres (127.0.0.1:$port)"
VERIFLOW_E2E_TEMPORAL_ADDRESS=127.0.0.1:$port go test -count=1 -timeout 20m ./test/e2e/
