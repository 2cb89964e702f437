#!/usr/bin/env bash
# `make run`: local PostgreSQL and Redis, config/.env on first run, migrations, then the gateway on :4000.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
PG_PORT=${SCUTUM_RUN_PG_PORT:-25329}
REDIS_PORT=${SCUTUM_RUN_REDIS_PORT:-63799}

command -v swift >/dev/null || { echo "The Swift toolchain (6.x) is required: https://swift.org/install" >&2; exit 1; }

# Keep the database password stable when .data/ was wiped but config/.env was kept.
if [ -f config/.env ] && [ ! -s .data/run/pg-password ]; then
    existing=$(sed -n "s#^DATABASE_URL=postgres://scutum:\([^@]*\)@127.0.0.1:$PG_PORT/.*#\1#p" config/.env)
    [ -n "$existing" ] && export SCUTUM_PG_PASSWORD="$existing"
fi
deploy/local/services.sh start run "$PG_PORT" "$REDIS_PORT" >/dev/null
# shellcheck disable=SC1091
. .data/run/urls.env

if [ ! -f config/.env ]; then
    key="sk-$(head -c 64 /dev/urandom | base64 | tr -d '/+=\n' | head -c 48)"
    sed -e "s#^SCUTUM_API_KEY=.*#SCUTUM_API_KEY=$key#" \
        -e "s#^DATABASE_URL=.*#DATABASE_URL=$DATABASE_URL#" \
        -e "s#^REDIS_URL=.*#REDIS_URL=$REDIS_URL#" config/env.example > config/.env
    chmod 600 config/.env
    cat <<BANNER

  ┌──────────────────────────────────────────────────────────────────────────┐
  │ Your Scutum master key (shown once; also in config/.env):                │
  │                                                                          │
  │   $key   │
  │                                                                          │
  │   export SCUTUM_API_KEY=\$(sed -n 's/^SCUTUM_API_KEY=//p' config/.env)    │
  └──────────────────────────────────────────────────────────────────────────┘

BANNER
fi

swift build --product scutum 2>&1 | grep -vE "^\[[0-9]+/[0-9]+\]" || true
[ -x .build/debug/scutum ] || { echo "build failed" >&2; exit 1; }
.build/debug/scutum migrate
console_port=${SCUTUM_CONSOLE_PORT:-$(sed -n 's/^SCUTUM_CONSOLE_PORT=//p' config/.env)}
if [ "${console_port:-5173}" != "0" ]; then
    echo "Admin console: http://localhost:${console_port:-5173} (sign in with SCUTUM_API_KEY from config/.env)"
fi
exec .build/debug/scutum serve
