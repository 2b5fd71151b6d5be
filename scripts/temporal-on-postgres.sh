#!/usr/bin/env bash
# Runs the Temporal server (v1.29.1, built from source into .dev/bin) on
# PostgreSQL persistence and visibility: the production topology, as
# docker-compose.yml deploys it, on a machine without Docker.
#
#   scripts/temporal-on-postgres.sh            # throwaway Postgres in .dev/temporal-pg
#   PG_HOST=db PG_PORT=5432 PG_USER=temporal PG_PASSWORD=… scripts/temporal-on-postgres.sh
#
# It builds `temporal-server` and `temporal-sql-tool` (about 3 minutes the
# first time), creates the databases temporal and temporal_visibility,
# applies the schemas shipped with the server module (schema/postgresql/v12),
# registers Veriflow's search attributes, and runs the server in the
# foreground on TEMPORAL_PORT (default 7233). Ctrl-C stops it (and the
# throwaway Postgres).
#
# It prints "==> ready" only once the namespace and the search attributes
# are usable — a workflow start carrying them and a visibility query on
# them succeed (a brand-new database takes a few seconds more than the
# namespace's creation) — or fails after READY_TIMEOUT seconds (default
# 120) with the last error.
#
#   TEMPORAL_PORT_OFFSET=n  shifts the server's other ports (history,
#                           matching, worker, membership 6933–6939, HTTP
#                           7243, metrics 8000) by n, so that two servers
#                           can run on one machine (default 0)
#   TEMPORAL_PG_STATE=dir   the throwaway Postgres and config directory
#                           (default .dev/temporal-postgres; a new
#                           directory means a fresh database)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

VERSION=v1.29.1
BIN=$repo/.dev/bin
TEMPORAL_PORT=${TEMPORAL_PORT:-7233}
state=${TEMPORAL_PG_STATE:-$repo/.dev/temporal-postgres}
[[ $state == /* ]] || state=$repo/$state
READY_TIMEOUT=${READY_TIMEOUT:-120}
mkdir -p "$BIN" "$state"

if [[ ! -x $BIN/temporal-server || ! -x $BIN/temporal-sql-tool ]]; then
	echo "==> building the Temporal server $VERSION and its SQL tool into .dev/bin (first time: about 3 minutes)"
	tmp=$(mktemp -d)
	GOBIN=$tmp go install "go.temporal.io/server/cmd/server@$VERSION" "go.temporal.io/server/cmd/tools/sql@$VERSION"
	mv "$tmp/server" "$BIN/temporal-server"
	mv "$tmp/sql" "$BIN/temporal-sql-tool"
	rmdir "$tmp"
fi
module=$(go env GOMODCACHE)/go.temporal.io/server@$VERSION
[[ -d $module ]] || go mod download "go.temporal.io/server@$VERSION"

pg_pid=""
cleanup() {
	if [[ -n $pg_pid ]]; then
		echo "==> stopping the throwaway Postgres"
		as_pg "$pgbin/pg_ctl" -D "$state/pgdata" -m fast stop >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT

as_pg() {
	if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [[ -z ${PG_HOST:-} ]]; then
	pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
	[[ -x $pgbin/initdb ]] || { echo "no PostgreSQL server binaries: apt-get install -y postgresql, or set PG_HOST" >&2; exit 1; }
	PG_HOST=127.0.0.1
	# The port this cluster last ran on (another checkout's throwaway
	# cluster may hold 55432).
	PG_PORT=${PG_PORT:-$(cat "$state/pgport" 2>/dev/null || echo 55432)}
	PG_USER=postgres
	PG_PASSWORD=""
	if [[ ! -d $state/pgdata ]]; then
		echo "==> creating a throwaway Postgres in $state/pgdata"
		[[ $(id -u) == 0 ]] && chown postgres "$state"
		as_pg "$pgbin/initdb" -D "$state/pgdata" -U postgres --auth=trust -E UTF8 >/dev/null
	fi
	if as_pg "$pgbin/pg_ctl" -D "$state/pgdata" status >/dev/null 2>&1; then
		echo "==> reusing the running Postgres on $PG_HOST:$PG_PORT"
	else
		# A port taken by someone else: the next free one.
		while (: >"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null; do
			echo "==> port $PG_PORT is taken, trying $((PG_PORT + 1))"
			PG_PORT=$((PG_PORT + 1))
		done
		echo "$PG_PORT" >"$state/pgport"
		echo "==> starting Postgres on $PG_HOST:$PG_PORT"
		as_pg "$pgbin/pg_ctl" -D "$state/pgdata" -l "$state/postgres.log" -w \
			-o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$state -c max_connections=300" start >/dev/null
	fi
	pg_pid=started
fi
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-temporal}
PG_PASSWORD=${PG_PASSWORD:-}

sqltool() {
	"$BIN/temporal-sql-tool" --plugin postgres12 --ep "$PG_HOST" -p "$PG_PORT" -u "$PG_USER" ${PG_PASSWORD:+--pw "$PG_PASSWORD"} "$@"
}
for db in temporal temporal_visibility; do
	echo "==> schema of $db"
	sqltool --db "$db" create-database >/dev/null 2>&1 || true
	sqltool --db "$db" setup-schema -v 0.0 >/dev/null 2>&1 || true # no-op when already set up
done
sqltool --db temporal update-schema -d "$module/schema/postgresql/v12/temporal/versioned" >/dev/null
sqltool --db temporal_visibility update-schema -d "$module/schema/postgresql/v12/visibility/versioned" >/dev/null

# The server's development-postgres12 configuration, pointed at our Postgres.
conf=$state/config
mkdir -p "$conf/dynamicconfig"
cp "$module/config/dynamicconfig/development-sql.yaml" "$conf/dynamicconfig/"
# Eager activity execution (the check's Commit activity; docs/performance.md).
cat >>"$conf/dynamicconfig/development-sql.yaml" <<'YAML'
system.enableActivityEagerExecution:
  - value: true
YAML
sed -e "s|connectAddr: \"127.0.0.1:5432\"|connectAddr: \"$PG_HOST:$PG_PORT\"|" \
	-e "s|user: \"temporal\"|user: \"$PG_USER\"|" \
	-e "s|password: \"temporal\"|password: \"$PG_PASSWORD\"|" \
	-e "s|grpcPort: 7233|grpcPort: $TEMPORAL_PORT|" \
	-e "s|filepath: \"config/dynamicconfig/development-sql.yaml\"|filepath: \"$conf/dynamicconfig/development-sql.yaml\"|" \
	"$module/config/development-postgres12.yaml" >"$conf/development-postgres12.yaml"
offset=${TEMPORAL_PORT_OFFSET:-0}
if ((offset)); then
	for p in 7234 7235 7239 7243 6933 6934 6935 6939 8000; do
		sed -i -E "s/(Port: |127\.0\.0\.1:)$p\b/\1$((p + offset))/" "$conf/development-postgres12.yaml"
	done
fi

echo "==> Temporal server $VERSION on 127.0.0.1:$TEMPORAL_PORT (Postgres persistence and visibility)"
"$BIN/temporal-server" --root "$state" --config config --env development-postgres12 --allow-no-auth start &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; cleanup' EXIT INT TERM

# Wait for the frontend, then register the default namespace and Veriflow's
# search attributes with the CLI.
cli=$BIN/temporal
addr=(--address "127.0.0.1:$TEMPORAL_PORT")
ready_start=$SECONDS
last_err=$state/ready.err
: >"$last_err"

# until_ready WHAT CMD...: retries CMD (its output kept in $last_err) once
# a second until it succeeds; fails when the server exits or READY_TIMEOUT
# seconds have passed since the server started.
until_ready() {
	local what=$1 tries=0 t0=$SECONDS last=""
	shift
	until "$@" >"$last_err" 2>&1; do
		tries=$((tries + 1))
		last=$(grep -v '^[[:space:]]*$' "$last_err" | tail -n1 || true)
		kill -0 $server 2>/dev/null || { echo "the Temporal server exited while waiting for: $what" >&2; exit 1; }
		if ((SECONDS - ready_start >= READY_TIMEOUT)); then
			echo "not ready after ${READY_TIMEOUT}s: $what failed; last error:" >&2
			sed 's/^/    /' "$last_err" >&2
			exit 1
		fi
		sleep 1
	done
	if ((tries)); then
		echo "    waited $((SECONDS - t0))s ($tries failed tries) for: $what; the last error was: $last"
	fi
}

until_ready "the frontend's health check" "$cli" operator cluster health "${addr[@]}"
# ensure_namespace: creates the namespace default unless it exists (a create
# that failed or timed out is tried again); succeeds once it is described.
ensure_namespace() {
	"$cli" operator namespace describe -n default "${addr[@]}" >/dev/null 2>&1 && return 0
	"$cli" operator namespace create -n default "${addr[@]}" || true
	"$cli" operator namespace describe -n default "${addr[@]}" >/dev/null
}
until_ready "creating the namespace default" ensure_namespace
sas=(VerificationKind VerificationStatus VerificationChannel TenantID)
# ensure_search_attributes: creates the search attributes the namespace
# does not list yet; succeeds once it lists them all.
ensure_search_attributes() {
	local listed sa missing=0
	listed=$("$cli" operator search-attribute list -n default "${addr[@]}") || return 1
	for sa in "${sas[@]}"; do
		if ! grep -qw "$sa" <<<"$listed"; then
			echo "search attribute $sa not listed yet"
			"$cli" operator search-attribute create --name "$sa" --type Keyword -n default "${addr[@]}" || true
			missing=1
		fi
	done
	return $missing
}
until_ready "registering the search attributes" ensure_search_attributes

# Usable, not just created: a new namespace and new search attributes reach
# the frontend's caches seconds after their creation on a fresh database.
# Veriflow starts its workflows with these attributes and lists them by
# them, so the probe does both, on a throwaway task queue (no worker: the
# workflow is terminated at once).
probe_id=veriflow-ready-probe-$$-$(date +%s)
probe_sa=()
query=""
for sa in "${sas[@]}"; do
	probe_sa+=(--search-attribute "$sa=\"probe\"")
	query+="${query:+ AND }$sa = 'probe'"
done
# probe_workflow: starts the probe workflow with the search attributes, then
# terminates it (a retry starts a new run of it if an earlier one ended).
probe_workflow() {
	"$cli" workflow start -n default "${addr[@]}" --type VeriflowReadinessProbe --task-queue "veriflow-ready-probe-$$" \
		--workflow-id "$probe_id" --id-conflict-policy UseExisting --execution-timeout 1m "${probe_sa[@]}" &&
		"$cli" workflow terminate -n default "${addr[@]}" --workflow-id "$probe_id" --reason "readiness probe"
}
until_ready "a workflow start (and terminate) on namespace default with the search attributes" probe_workflow
until_ready "a visibility query on the search attributes" \
	"$cli" workflow list -n default "${addr[@]}" --limit 1 --query "$query"
echo "==> ready: TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT (namespace and search attributes usable after $((SECONDS - ready_start))s)"
wait $server
