# shellcheck shell=bash
# Sourced by the scripts that run something against the production
# topology (e2e-on-postgres.sh, bench-on-postgres.sh):
#
#   temporal_on_postgres_bg PORT LOG [FRESH_DIR]
#
# starts scripts/temporal-on-postgres.sh in the background in its own
# process group on PORT, logging to LOG, waits (up to 10 min) for its
# "==> ready", and on exit stops it and removes FRESH_DIR (a throwaway
# TEMPORAL_PG_STATE) if given. It sets tpg_pgid, the script's process group.
temporal_on_postgres_bg() {
	local port=$1 log=$2
	tpg_fresh=${3:-}
	mkdir -p "$(dirname "$log")"
	local start=$SECONDS
	TEMPORAL_PORT=$port setsid scripts/temporal-on-postgres.sh >"$log" 2>&1 &
	tpg_pgid=$!
	trap _temporal_on_postgres_stop EXIT
	for _ in $(seq 1 600); do
		grep -q "==> ready" "$log" && break
		kill -0 "$tpg_pgid" 2>/dev/null || { echo "temporal-on-postgres failed:" >&2; tail -20 "$log" >&2; exit 1; }
		sleep 1
	done
	grep -q "==> ready" "$log" || { echo "temporal-on-postgres not ready" >&2; tail -20 "$log" >&2; exit 1; }
	echo "$(grep "==> ready" "$log") — $((SECONDS - start))s after launch"
}

_temporal_on_postgres_stop() {
	kill -TERM -- -"$tpg_pgid" 2>/dev/null || true
	wait "$tpg_pgid" 2>/dev/null || true
	if [[ -n $tpg_fresh ]]; then rm -rf "$tpg_fresh"; fi
}
