#!/usr/bin/env bash
# Runs every test: unit, property and integration tests, against SQLite and
# against a real PostgreSQL server, plus the lake's connectors against real
# PostgreSQL and MariaDB source tables and the lake on an S3 server, then the
# portal in headless Chromium against a demo node. Installs PostgreSQL,
# MariaDB, Chromium and a Chinese font from Debian's packages and moto (an S3
# server) from PyPI when they are missing, and starts private instances of
# them on 127.0.0.1 (stopped again on exit). Extra arguments go
# to `cargo test`.
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
# TLS, for the tests of encrypted source connections: a test CA and a
# server certificate for 127.0.0.1 it signed, and members of the role
# tls_required refused without TLS.
tls="$cluster/tls"
if [ ! -f "$tls/ca.crt" ]; then
    command -v openssl >/dev/null || apt_install openssl
    rm -rf "$tls"
    mkdir -p "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=govdata test CA" \
        -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$tls/server.ext"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
        -days 3650 -extfile "$tls/server.ext" -out "$tls/server.crt" 2>/dev/null
    chmod 600 "$tls/server.key" "$tls/ca.key"
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$tls"; fi
fi
if ! grep -q '+tls_required' "$cluster/data/pg_hba.conf"; then
    run_pg "sed -i '1i hostnossl all +tls_required 127.0.0.1/32 reject' '$cluster/data/pg_hba.conf'"
fi
started=""
if ! run_pg "'$bin/pg_ctl' -D '$cluster/data' status" >/dev/null 2>&1; then
    log "starting PostgreSQL on 127.0.0.1:$port"
    # fsync off: test data is disposable, and the tests measure no durability.
    run_pg "'$bin/pg_ctl' -D '$cluster/data' -l '$cluster/server.log' -w \
        -o \"-p $port -k '$cluster' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 \
        -c ssl=on -c ssl_cert_file='$tls/server.crt' -c ssl_key_file='$tls/server.key'\" start" >/dev/null
    started=1
fi
stop_pg() {
    if [ -n "$started" ]; then
        run_pg "'$bin/pg_ctl' -D '$cluster/data' -m fast stop" >/dev/null 2>&1 || true
    fi
}
trap stop_pg EXIT
# Every test makes its own database; drop those an earlier run left behind
# so a reused cluster does not grow without bound.
run_pg "'$bin/psql' -h 127.0.0.1 -p $port -U postgres -d postgres -Atc \
    \"SELECT datname FROM pg_database WHERE datname LIKE 'govdata\\_test\\_%'\"" |
    while read -r database; do
        run_pg "'$bin/dropdb' -h 127.0.0.1 -p $port -U postgres '$database'"
    done

if [ ! -x /usr/bin/chromium ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then
    log "installing Chromium and a Chinese font for the portal tests"
    apt_install chromium fonts-wqy-microhei fontconfig
fi

if ! command -v mariadbd >/dev/null; then
    log "installing MariaDB"
    apt_install mariadb-server mariadb-client
fi
mysql_port=${TEST_MYSQL_PORT:-33069}
mysql_dir="$root/target/test-mariadb"
mysql_socket="$mysql_dir/mysqld.sock"
if [ ! -d "$mysql_dir/data/mysql" ]; then
    log "creating a MariaDB data directory in $mysql_dir"
    rm -rf "$mysql_dir"
    mkdir -p "$mysql_dir"
    [ "$(id -u)" -eq 0 ] && chown mysql "$mysql_dir"
    mariadb-install-db --datadir="$mysql_dir/data" --user="$(id -un | sed 's/^root$/mysql/')" \
        --auth-root-authentication-method=socket --skip-test-db >/dev/null
fi
mysql_started=""
if ! mariadb-admin --socket="$mysql_socket" -u root status >/dev/null 2>&1; then
    log "starting MariaDB on 127.0.0.1:$mysql_port"
    # Test data is disposable: no doublewrite, no flush at each commit.
    mariadbd --datadir="$mysql_dir/data" --socket="$mysql_socket" --port="$mysql_port" \
        --bind-address=127.0.0.1 --pid-file="$mysql_dir/mysqld.pid" --log-error="$mysql_dir/error.log" \
        --user="$(id -un | sed 's/^root$/mysql/')" --innodb-flush-log-at-trx-commit=0 \
        --innodb-doublewrite=0 --skip-name-resolve >/dev/null 2>&1 &
    for _ in $(seq 1 60); do
        mariadb-admin --socket="$mysql_socket" -u root status >/dev/null 2>&1 && break
        sleep 0.5
    done
    mysql_started=1
fi
mariadb --socket="$mysql_socket" -u root <<'SQL'
CREATE USER IF NOT EXISTS 'govdata'@'127.0.0.1' IDENTIFIED BY 'govdata';
GRANT ALL PRIVILEGES ON *.* TO 'govdata'@'127.0.0.1';
SQL
# S3: moto's server, from PyPI into a private virtualenv, with one bucket;
# each test works under a fresh prefix of it.
s3_port=${TEST_S3_PORT:-54390}
s3_dir="$root/target/test-s3"
s3_python="$s3_dir/venv/bin/python"
if ! "$s3_python" -c 'import moto.server, flask_cors' 2>/dev/null; then
    log "installing an S3 test server (moto) in $s3_dir"
    command -v python3 >/dev/null || apt_install python3 python3-venv
    rm -rf "$s3_dir"
    mkdir -p "$s3_dir"
    python3 -m venv "$s3_dir/venv"
    "$s3_dir/venv/bin/pip" install -q --disable-pip-version-check 'moto[s3]==5.2.1' flask flask-cors
fi
# METHOD PATH: one unsigned request to the S3 server (moto takes them).
s3_request() {
    "$s3_python" - "$1" "http://127.0.0.1:$s3_port$2" <<'PY'
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[2], method=sys.argv[1]), timeout=2)
PY
}
s3_pid=""
if ! s3_request GET / 2>/dev/null; then
    log "starting the S3 test server on 127.0.0.1:$s3_port"
    "$s3_python" -m moto.server -H 127.0.0.1 -p "$s3_port" >"$s3_dir/server.log" 2>&1 &
    s3_pid=$!
    for _ in $(seq 1 60); do
        s3_request GET / 2>/dev/null && break
        sleep 0.5
    done
fi
s3_request PUT /govdata-test

stop_services() {
    stop_pg
    if [ -n "$mysql_started" ]; then
        mariadb-admin --socket="$mysql_socket" -u root shutdown >/dev/null 2>&1 || true
    fi
    if [ -n "$s3_pid" ]; then
        kill "$s3_pid" 2>/dev/null || true
    fi
}
trap stop_services EXIT

export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
export TEST_POSTGRES_TLS_CA="$tls/ca.crt"
export TEST_REQUIRE_POSTGRES=1
export TEST_MYSQL_URL="mysql://govdata:govdata@127.0.0.1:$mysql_port/mysql"
export TEST_REQUIRE_MYSQL=1
export TEST_S3_URL="s3://govdata-test"
export TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port"
export TEST_REQUIRE_S3=1
log "running tests (SQLite, PostgreSQL at $TEST_POSTGRES_URL, MariaDB at 127.0.0.1:$mysql_port, S3 at $TEST_S3_ENDPOINT)"
cargo test --workspace --locked "$@"

# The portal: its types, then its scenarios in a real browser against the
# binary just built (cargo's build of govdata-portal installed its packages).
log "checking and testing the portal in headless Chromium"
(cd portal && npx tsc --noEmit &&
    GOVDATA_BIN="$root/target/debug/govdata" node --test tests/)
