#!/usr/bin/env bash
# Start or stop the real PostgreSQL and Redis servers the test suite runs against.
#   tests/support/services.sh start ENV_FILE   -> writes TBOT_TEST_DATABASE_URL / TBOT_TEST_REDIS_URL
#   tests/support/services.sh stop  ENV_FILE
#   tests/support/services.sh bench-tools ENV_FILE   -> installs wrk for `make bench`
#   tests/support/services.sh pg-stop|pg-start|pg-restart|redis-stop|redis-start ENV_FILE
#       (outage tests: the same server stopped and started again on its port, its data kept)
# Both listen on 127.0.0.1 only, on free ports, with data in a throw-away directory.
# Installs what the suite needs from Debian's packages when it is missing: redis-server, and chromium
# for the browser tests of the docs pages and the dashboard.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
action=${1:?start|stop}
env_file=${2:?env file}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

apt_updated=no
ensure_command() {  # ensure_command COMMAND PACKAGE: install the Debian package when COMMAND is missing
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "services: installing $2 (Debian package)" >&2
        export DEBIAN_FRONTEND=noninteractive
        if [ "$apt_updated" = no ]; then apt-get update -qq >/dev/null; apt_updated=yes; fi
        apt-get install -y -qq "$2" >/dev/null
    fi
}

run_as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {  # pg_start DIR PORT
    run_as_postgres "$PG_BIN/pg_ctl" -D "$1/pg" -l "$1/pg/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $2 -k $1/pgsock -c max_connections=200 -c shared_buffers=256MB" start >/dev/null
}

redis_start() {  # redis_start DIR PORT
    redis-server --bind 127.0.0.1 --port "$2" --dir "$1/redis" --save '' \
        --appendonly no --daemonize yes --pidfile "$1/redis/redis.pid" --logfile "$1/redis/redis.log"
    for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$2" ping >/dev/null 2>&1 && break; sleep 0.1; done
}

redis_stop() {  # redis_stop DIR: the server ends at once, keeping nothing
    [ -f "$1/redis/redis.pid" ] || return 0
    local pid; pid=$(cat "$1/redis/redis.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    rm -f "$1/redis/redis.pid"
}

load_env() {
    # shellcheck disable=SC1090
    . "$env_file"
}

start() {
    ensure_command redis-server redis-server
    ensure_command chromium chromium  # the browser tests: the docs pages, the dashboard (Playwright)
    [ -x "$PG_BIN/initdb" ] || { echo "services: PostgreSQL binaries not found in $PG_BIN" >&2; exit 1; }
    local dir; dir=$(mktemp -d /tmp/tbot-services.XXXXXX)
    chmod 755 "$dir"
    mkdir -p "$dir/pg" "$dir/pgsock" "$dir/redis"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir/pg" "$dir/pgsock"; fi
    local pg_port redis_port
    pg_port=$(free_port); redis_port=$(free_port)
    run_as_postgres "$PG_BIN/initdb" -D "$dir/pg" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1
    pg_start "$dir" "$pg_port"
    "$PG_BIN/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -q -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE tbot LOGIN SUPERUSER PASSWORD 'tbot'" -c "CREATE DATABASE tbot OWNER tbot" >/dev/null
    redis_start "$dir" "$redis_port"
    cat >"$env_file" <<ENV
TBOT_SERVICES_DIR=$dir
TBOT_TEST_PG_PORT=$pg_port
TBOT_TEST_REDIS_PORT=$redis_port
TBOT_TEST_DATABASE_URL=postgresql://tbot:tbot@127.0.0.1:$pg_port/tbot
TBOT_TEST_REDIS_URL=redis://127.0.0.1:$redis_port/0
ENV
    echo "services: PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port" >&2
}

stop() {
    [ -f "$env_file" ] || return 0
    # shellcheck disable=SC1090
    . "$env_file"
    if [ -n "${TBOT_SERVICES_DIR:-}" ] && [ -d "$TBOT_SERVICES_DIR" ]; then
        redis_stop "$TBOT_SERVICES_DIR"
        run_as_postgres "$PG_BIN/pg_ctl" -D "$TBOT_SERVICES_DIR/pg" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$TBOT_SERVICES_DIR"
    fi
    rm -f "$env_file"
}

case "$action" in
    start) start ;;
    bench-tools) ensure_command wrk wrk ;;  # the benchmarks' HTTP load generator, written in C
    stop) stop ;;
    pg-stop) load_env; run_as_postgres "$PG_BIN/pg_ctl" -D "$TBOT_SERVICES_DIR/pg" -m fast -w stop >/dev/null ;;
    pg-start) load_env; pg_start "$TBOT_SERVICES_DIR" "$TBOT_TEST_PG_PORT" ;;
    pg-restart)
        load_env
        run_as_postgres "$PG_BIN/pg_ctl" -D "$TBOT_SERVICES_DIR/pg" -m fast -w stop >/dev/null
        pg_start "$TBOT_SERVICES_DIR" "$TBOT_TEST_PG_PORT"
        ;;
    redis-stop) load_env; redis_stop "$TBOT_SERVICES_DIR" ;;
    redis-start) load_env; redis_start "$TBOT_SERVICES_DIR" "$TBOT_TEST_REDIS_PORT" ;;
    *) echo "usage: $0 start|stop|bench-tools|pg-stop|pg-start|pg-restart|redis-stop|redis-start ENV_FILE" >&2; exit 2 ;;
esac
