#!/usr/bin/env bash
# `make bench`: start a real PostgreSQL (and Redis), run every benchmark, stop the servers.
set -euo pipefail
cd "$(dirname "$0")/../.."
env_file=$(mktemp /tmp/tbot-bench-env.XXXXXX)
trap 'tests/support/services.sh stop "$env_file"' EXIT
tests/support/services.sh start "$env_file"
tests/support/services.sh bench-tools "$env_file"
# shellcheck disable=SC1090
. "$env_file"
echo "## PlaceOrder throughput (in process, PostgreSQL 15, fsync on) — $(date -u +%Y-%m-%d)"
.venv/bin/python -m tests.benchmarks.bench_place_order "$TBOT_TEST_DATABASE_URL" --seconds "${BENCH_SECONDS:-10}"
echo
echo "## Read side: rebuild from ${BENCH_EVENTS:-1000000} events, live lag at ${BENCH_RATE:-1000} events/s — $(date -u +%Y-%m-%d)"
.venv/bin/python -m tests.benchmarks.bench_read_side "$TBOT_TEST_DATABASE_URL" "$TBOT_TEST_REDIS_URL" \
    --events "${BENCH_EVENTS:-1000000}" --rate "${BENCH_RATE:-1000}" --seconds "${BENCH_SECONDS:-20}"
echo
echo "## HTTP API: PlaceOrder over HTTP, a steady 500/s, live feed to 100 subscribers — $(date -u +%Y-%m-%d)"
.venv/bin/python -m tests.benchmarks.bench_http "$TBOT_TEST_DATABASE_URL" "$TBOT_TEST_REDIS_URL" \
    --seconds "${BENCH_SECONDS:-10}"
echo
echo "## HTTP API under wrk: PlaceOrder at 16 connections, and overloaded at 256 — $(date -u +%Y-%m-%d)"
.venv/bin/python -m tests.benchmarks.bench_http_wrk "$TBOT_TEST_DATABASE_URL" "$TBOT_TEST_REDIS_URL" \
    --seconds "${BENCH_SECONDS:-10}"
echo
echo "## Live feed: 10,000 subscribers on one API process — $(date -u +%Y-%m-%d)"
.venv/bin/python -m tests.benchmarks.bench_feed_scale "$TBOT_TEST_DATABASE_URL" "$TBOT_TEST_REDIS_URL" \
    --subscribers "${BENCH_FEED_SUBSCRIBERS:-10000}" --seconds "${BENCH_SECONDS:-10}"
echo
echo "## Signals: text to entry order recorded over HTTP — $(date -u +%Y-%m-%d)"
.venv/bin/python -m tests.benchmarks.bench_signals "$TBOT_TEST_DATABASE_URL" "$TBOT_TEST_REDIS_URL" \
    --seconds "${BENCH_SECONDS:-10}"
echo
echo "## Notifications: event commit to webhook delivered — $(date -u +%Y-%m-%d)"
.venv/bin/python -m tests.benchmarks.bench_notifications "$TBOT_TEST_DATABASE_URL" \
    --seconds "${BENCH_SECONDS:-10}" --rate "${BENCH_NOTIFY_RATE:-200}"
echo
echo "## Order round trip on the paper exchange: HTTP to fill visible in positions — $(date -u +%Y-%m-%d)"
.venv/bin/python -m tests.benchmarks.bench_round_trip "$TBOT_TEST_DATABASE_URL" "$TBOT_TEST_REDIS_URL" \
    --seconds "${BENCH_SECONDS:-10}" --rate "${BENCH_ORDER_RATE:-200}"
echo
echo "## Fills against new orders on one busy bot (in process, PostgreSQL 15) — $(date -u +%Y-%m-%d)"
.venv/bin/python -m tests.benchmarks.bench_fill_contention "$TBOT_TEST_DATABASE_URL" \
    --seconds "${BENCH_SECONDS:-10}" --rate "${BENCH_CONTENTION_RATE:-300}"
echo
echo "## Strategy runtime: candle close to orders recorded, bots per runtime — $(date -u +%Y-%m-%d)"
.venv/bin/python -m tests.benchmarks.bench_strategies "$TBOT_TEST_DATABASE_URL" --bots ${BENCH_STRATEGY_BOTS:-100 250 500 1000}
echo
echo "## Candle files: two years of one-minute candles loaded from CSV and Parquet — $(date -u +%Y-%m-%d)"
.venv/bin/python -m tests.benchmarks.bench_candle_files --rows "${BENCH_CANDLE_ROWS:-1051200}"
echo
echo "## A running bot's performance: 200,000 one-minute points, 20,000 fills (SQLite read database) — $(date -u +%Y-%m-%d)"
.venv/bin/python -m tests.benchmarks.bench_bot_performance --points "${BENCH_PERFORMANCE_POINTS:-200000}"
echo
echo "## Backtest: sma_cross over two years of one-minute candles, through the live code — $(date -u +%Y-%m-%d)"
.venv/bin/python -m tests.benchmarks.bench_backtest --rows "${BENCH_CANDLE_ROWS:-1051200}"
echo
echo "## Parameter optimisation: trials per minute, 1 and 2 processes on one study (PostgreSQL) — $(date -u +%Y-%m-%d)"
.venv/bin/python -m tests.benchmarks.bench_optimize "$TBOT_TEST_DATABASE_URL" --trials "${BENCH_OPTIMIZE_TRIALS:-4}"
