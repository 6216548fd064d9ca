#!/usr/bin/env bash
# The long fuzz run of docs/reliability.md: tests/core/test_api_fuzz.py as every persona, with
# the coverage phase (every boundary value of every parameter) and more examples per operation.
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_fuzz scripts/fuzz-api.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_PERSONAS="${FUZZ_PERSONAS:-anonymous,patient,doctor,staff,admin}"
export FUZZ_EXAMPLES="${FUZZ_EXAMPLES:-10}"
export FUZZ_COVERAGE="${FUZZ_COVERAGE:-1}"
export FUZZ_REPORT="${FUZZ_REPORT:-var/fuzz-report.json}"
export DATABASE_URL="${DATABASE_URL:?set DATABASE_URL to a PostgreSQL database for the run}"
export REDIS_URL="${REDIS_URL:-}" DEBUG=false SECRET_KEY="${SECRET_KEY:-fuzz-only-secret-key}" CELERY_TASK_ALWAYS_EAGER=true
mkdir -p var
.venv/bin/pytest -q -p no:cacheprovider tests/core/test_api_fuzz.py "$@"
echo "tally: $(cat "$FUZZ_REPORT")"
