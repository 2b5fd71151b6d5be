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
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

VERSION=v1.29.1
BIN=$repo/.dev/bin
TEMPORAL_PORT=${TEMPORAL_PORT:-7233}
state=$repo/.dev/temporal-postgres
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
	PG_PORT=${PG_PORT:-55432}
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
sed -e "s|connectAddr: \"127.0.0.1:5432\"|connectAddr: \"$PG_HOST:$PG_PORT\"|" \
	-e "s|user: \"temporal\"|user: \"$PG_USER\"|" \
	-e "s|password: \"temporal\"|password: \"$PG_PASSWORD\"|" \
	-e "s|grpcPort: 7233|grpcPort: $TEMPORAL_PORT|" \
	-e "s|filepath: \"config/dynamicconfig/development-sql.yaml\"|filepath: \"$conf/dynamicconfig/development-sql.yaml\"|" \
	"$module/config/development-postgres12.yaml" >"$conf/development-postgres12.yaml"

echo "==> Temporal server $VERSION on 127.0.0.1:$TEMPORAL_PORT (Postgres persistence and visibility)"
"$BIN/temporal-server" --root "$state" --config config --env development-postgres12 --allow-no-auth start &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; cleanup' EXIT INT TERM

# Wait for the frontend, then register the default namespace and Veriflow's
# search attributes with the CLI.
cli=$BIN/temporal
for _ in $(seq 1 120); do
	kill -0 $server 2>/dev/null || { echo "the Temporal server exited" >&2; exit 1; }
	"$cli" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" >/dev/null 2>&1 && break
	sleep 1
done
"$cli" operator namespace describe -n default --address "127.0.0.1:$TEMPORAL_PORT" >/dev/null 2>&1 ||
	"$cli" operator namespace create -n default --address "127.0.0.1:$TEMPORAL_PORT"
for sa in VerificationKind VerificationStatus VerificationChannel TenantID; do
	"$cli" operator search-attribute create --name "$sa" --type Keyword --address "127.0.0.1:$TEMPORAL_PORT" >/dev/null 2>&1 || true
done
echo "==> ready: TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT"
wait $server
