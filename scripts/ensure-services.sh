#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1 before the tests run: start them where
# they are installed but stopped, and fail loudly where they are absent.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_PORT=6379

fail() { echo "ensure-services: $*" >&2; exit 1; }

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

if ! command -v pg_isready >/dev/null; then
  fail "PostgreSQL client tools are not installed (apt-get install postgresql)."
fi
if ! pg_up; then
  echo "ensure-services: PostgreSQL is not answering on $PG_HOST:$PG_PORT; starting it"
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
  else
    fail "PostgreSQL is not installed here (apt-get install postgresql), or set TEST_DATABASE_URL."
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || fail "PostgreSQL did not come up on $PG_HOST:$PG_PORT."
fi

if ! command -v redis-cli >/dev/null; then
  fail "Redis is not installed (apt-get install redis-server)."
fi
if ! redis_up; then
  echo "ensure-services: Redis is not answering on 127.0.0.1:$REDIS_PORT; starting it"
  command -v redis-server >/dev/null || fail "redis-server is not installed (apt-get install redis-server)."
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >/dev/null
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
  redis_up || fail "Redis did not come up on 127.0.0.1:$REDIS_PORT."
fi

# The billing tests read invoice PDFs back with poppler's pdftotext and pdftoppm.
if ! command -v pdftotext >/dev/null || ! command -v pdftoppm >/dev/null; then
  echo "ensure-services: installing poppler-utils (pdftotext, pdftoppm)"
  command -v apt-get >/dev/null || fail "poppler-utils is missing and apt-get is not available to install it."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 poppler-utils >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      -o DPkg::Lock::Timeout=300 poppler-utils >/dev/null 2>&1; } \
    || fail "could not install poppler-utils (apt-get install poppler-utils)."
fi

# The deployment test runs the real reverse proxy (deploy/nginx/clinic.conf) with Debian's nginx;
# where it cannot be installed that one test skips, saying why.
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "ensure-services: installing nginx-light (the reverse proxy of the deployment test)"
  { command -v apt-get >/dev/null \
    && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 nginx-light >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        -o DPkg::Lock::Timeout=300 nginx-light >/dev/null 2>&1; }; }; } \
    || echo "ensure-services: could not install nginx-light; the deployment test will be skipped" >&2
fi

echo "ensure-services: PostgreSQL and Redis are up"
