#!/usr/bin/env bash
# Runs every test: unit, property and integration tests, against SQLite and
# against a real PostgreSQL server. Installs PostgreSQL from Debian's packages
# when it is missing and starts a private cluster on 127.0.0.1 (it is stopped
# again on exit). Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
apt_install() {
    if [ -z "$apt_updated" ]; then
        as_root apt-get update -qq
        apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The newest installed server (a client alone has no initdb).
pg_bin() { ls /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -n 1 | xargs -r dirname; }

if [ -z "$(pg_bin)" ]; then
    log "installing PostgreSQL"
    apt_install postgresql
fi
bin=$(pg_bin)
port=${TEST_POSTGRES_PORT:-54329}
cluster="$root/target/test-postgres"
run_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        su postgres -s /bin/sh -c "$*"
    else
        sh -c "$*"
    fi
}
if [ ! -f "$cluster/data/PG_VERSION" ]; then
    log "creating a PostgreSQL cluster in $cluster"
    rm -rf "$cluster"
    mkdir -p "$cluster"
    [ "$(id -u)" -eq 0 ] && chown postgres "$cluster"
    run_pg "'$bin/initdb' -D '$cluster/data' -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8" >/dev/null
fi
started=""
if ! run_pg "'$bin/pg_ctl' -D '$cluster/data' status" >/dev/null 2>&1; then
    log "starting PostgreSQL on 127.0.0.1:$port"
    # fsync off: test data is disposable, and the tests measure no durability.
    run_pg "'$bin/pg_ctl' -D '$cluster/data' -l '$cluster/server.log' -w \
        -o \"-p $port -k '$cluster' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300\" start" >/dev/null
    started=1
fi
stop_pg() {
    if [ -n "$started" ]; then
        run_pg "'$bin/pg_ctl' -D '$cluster/data' -m fast stop" >/dev/null 2>&1 || true
    fi
}
trap stop_pg EXIT

export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
export TEST_REQUIRE_POSTGRES=1
log "running tests (SQLite and PostgreSQL at $TEST_POSTGRES_URL)"
cargo test --workspace --locked "$@"
