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
.venv/bin/pytest --durations=15 "$@"
