#!/usr/bin/env bash
# Run the whole test suite against real PostgreSQL and Redis, stopping them whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."
env_file=$(mktemp /tmp/tbot-services-env.XXXXXX)
trap 'tests/support/services.sh stop "$env_file"' EXIT
tests/support/services.sh start "$env_file"
set -a
# shellcheck disable=SC1090
. "$env_file"
set +a
export TBOT_REQUIRE_SERVICES=1
# The tests mostly wait on servers and subprocesses, so two workers (TBOT_TEST_WORKERS) finish in
# about a third of the time of one; each test has its own schema, Redis namespace, ports and files.
.venv/bin/pytest -n "${TBOT_TEST_WORKERS:-2}" --durations=15 "$@"
