#!/usr/bin/env bash
# Runs `make bench` against the production topology: the Temporal server
# v1.29.1 on PostgreSQL persistence and visibility
# (scripts/temporal-on-postgres.sh) instead of the dev server. The bench
# still starts its own throwaway PostgreSQL for Veriflow; both shapes, bare
# and Veriflow, run on the one Temporal server, as with the dev server.
# The Temporal column of the report counts the server and its own
# PostgreSQL (postmaster and backends).
#
#   scripts/bench-on-postgres.sh BENCH_BINARY [FLAGS…]
#
#   BENCH_FRESH=0           reuse .dev/temporal-postgres (default: a
#                           brand-new database, removed afterwards, so runs
#                           compare on the same empty tables)
#   TEMPORAL_PORT, PG_PORT  the server's and its PostgreSQL's ports
#                           (defaults 7298, 55433)
#   TEMPORAL_PORT_OFFSET    shifts the server's other ports (default 100:
#                           it runs beside another server on the defaults)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/temporal-on-postgres-bg.sh
source scripts/lib/temporal-on-postgres-bg.sh
bench=${1:?usage: scripts/bench-on-postgres.sh BENCH_BINARY [FLAGS…]}
shift
port=${TEMPORAL_PORT:-7298}
export PG_PORT=${PG_PORT:-55433}
export TEMPORAL_PORT_OFFSET=${TEMPORAL_PORT_OFFSET:-100}
log=.dev/logs/bench-temporal-on-postgres.log
fresh=""
if [[ ${BENCH_FRESH:-1} == 1 ]]; then
	fresh=$(mktemp -d -t veriflow-bench-temporal-pg.XXXXXX)
	export TEMPORAL_PG_STATE=$fresh
fi
state=${TEMPORAL_PG_STATE:-$(pwd)/.dev/temporal-postgres}
temporal_on_postgres_bg "$port" "$log" "$fresh"
# The server is the script's child; its database's postmaster is in
# postmaster.pid. Both only for the report's CPU split.
server_pid=$(pgrep -P $tpg_pgid -f temporal-server | head -n1 || true)
db_pid=$(head -n1 "$state/pgdata/postmaster.pid" 2>/dev/null || true)
echo "==> bench against the Temporal server on PostgreSQL (127.0.0.1:$port; server pid ${server_pid:-?}, its postmaster ${db_pid:-?})"
TEMPORAL_ADDRESS=127.0.0.1:$port VERIFLOW_BENCH_TEMPORAL_PID=${server_pid:-0} VERIFLOW_BENCH_TEMPORAL_DB_PID=${db_pid:-0} \
	"$bench" -json .dev/bench/latest-postgres.json "$@"
