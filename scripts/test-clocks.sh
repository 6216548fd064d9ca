#!/usr/bin/env bash
# The whole suite at adversarial instants and in far clinic time zones (`make test-clocks`).
#
# Each entry runs `pytest` with TEST_NOW (and TEST_CLINIC_TIMEZONE where given) on the test
# database and Redis db of the Makefile's test target. With TEST_DATABASE_URL_2 and
# TEST_REDIS_URL_2 set, two entries run at a time, the second pair on its own database and
# Redis db (two runs must never share either). Logs go to var/test-clocks/; a summary
# with each entry's closing pytest line is printed at the end, and the exit status is
# non-zero if any entry failed. CLOCKS="name name" runs only those entries.
set -uo pipefail
cd "$(dirname "$0")/.."

# name | TEST_NOW | clinic zone ("-": the registered default, UTC)
MATRIX="
utc-after-midnight|2026-06-10T00:01:00+00:00|-
utc-0859|2026-06-10T08:59:00+00:00|-
utc-0901|2026-06-10T09:01:00+00:00|-
utc-2359|2026-06-10T23:59:00+00:00|-
london-spring-eve|2026-03-28T12:00:00+00:00|Europe/London
london-spring-day|2026-03-29T00:30:00+00:00|Europe/London
london-autumn-eve|2026-10-24T12:00:00+00:00|Europe/London
london-autumn-day|2026-10-25T00:30:00+00:00|Europe/London
leap-day|2028-02-29T12:00:00+00:00|-
new-years-eve|2026-12-31T23:30:00+00:00|-
kiritimati|2026-06-10T10:30:00+00:00|Pacific/Kiritimati
pago-pago|2026-06-10T10:30:00+00:00|Pacific/Pago_Pago
"

mkdir -p var/test-clocks
: "${TEST_DATABASE_URL:?set TEST_DATABASE_URL (the Makefile does)}"
: "${TEST_REDIS_URL:?set TEST_REDIS_URL (the Makefile does)}"
lanes=("$TEST_DATABASE_URL|$TEST_REDIS_URL")
if [ -n "${TEST_DATABASE_URL_2:-}" ] && [ -n "${TEST_REDIS_URL_2:-}" ]; then
  lanes+=("$TEST_DATABASE_URL_2|$TEST_REDIS_URL_2")
fi

run_entry() {  # name now zone database redis
  local name=$1 now=$2 zone=$3 database=$4 redis=$5
  local log="var/test-clocks/$name.log"
  [ "$zone" = "-" ] && zone=""
  echo "test-clocks: $name (TEST_NOW=$now${zone:+, clinic $zone}) on ${database##*/}, redis ${redis##*/}"
  DATABASE_URL=$database REDIS_URL=$redis DEBUG=false SECRET_KEY=test-only-secret-key \
    CELERY_TASK_ALWAYS_EAGER=true TEST_NOW=$now TEST_CLINIC_TIMEZONE=$zone \
    .venv/bin/pytest -q -p no:cacheprovider >"$log" 2>&1
  echo $? >"var/test-clocks/$name.rc"
}

entries=()
while IFS='|' read -r name now zone; do
  [ -n "$name" ] || continue
  if [ -n "${CLOCKS:-}" ] && [[ " $CLOCKS " != *" $name "* ]]; then continue; fi
  entries+=("$name|$now|$zone")
  rm -f "var/test-clocks/$name.rc"
done <<<"$MATRIX"

# One queue per lane: entry i runs on lane i mod lanes, each lane one entry at a time.
pids=()
for lane in "${!lanes[@]}"; do
  (
    IFS='|' read -r database redis <<<"${lanes[$lane]}"
    for index in "${!entries[@]}"; do
      [ $((index % ${#lanes[@]})) -eq "$lane" ] || continue
      IFS='|' read -r name now zone <<<"${entries[$index]}"
      run_entry "$name" "$now" "$zone" "$database" "$redis"
    done
  ) &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

status=0
echo
echo "test-clocks summary:"
for entry in "${entries[@]}"; do
  IFS='|' read -r name now zone <<<"$entry"
  rc=$(cat "var/test-clocks/$name.rc" 2>/dev/null || echo "?")
  closing=$(grep -E "(passed|failed|error)" "var/test-clocks/$name.log" | tail -1)
  verdict=$([ "$rc" = 0 ] && echo PASSED || echo FAILED)
  [ "$rc" = 0 ] || status=1
  printf '  %-20s %-27s %-20s %s  %s\n' "$name" "$now" "${zone/#-/UTC}" "$verdict" "$closing"
done
exit $status
