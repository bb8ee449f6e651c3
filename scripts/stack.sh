#!/usr/bin/env bash
# The production layout, on loopback, in a temp dir: PostgreSQL, Redis, `flask db upgrade`,
# two RQ workers (python -m backend.worker: the urgent queues; all queues) and gunicorn with
# several workers. Foreground; Ctrl-C stops everything and removes the temp dir.
#
#   scripts/stack.sh                serve on 127.0.0.1:$PORT (default 8000), demo data unless SEED=0
#   scripts/stack.sh run CMD...     PostgreSQL + Redis + RQ workers, then CMD with the same settings
#                                   (TEST_DATABASE_URL, DATABASE_URL, JOBS_BACKEND=rq, REDIS_URL)
#
# Installs Debian's redis-server (and postgresql, through with-postgres.sh) when absent.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${BIN:-$ROOT/.venv/bin}

if [ -z "${DOORSTEP_STACK_DB:-}" ]; then
  # first pass: a throwaway PostgreSQL around the rest of this script
  export DOORSTEP_STACK_DB=1
  exec scripts/with-postgres.sh "$0" "$@"
fi

if ! command -v redis-server >/dev/null; then
  echo "stack: installing Debian's redis-server" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DIR=$(mktemp -d /tmp/doorstep-stack.XXXXXX)
mkdir -p "$DIR/instance" "$DIR/redis"
PIDS=()
stop() {
  trap - INT TERM EXIT
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap stop EXIT
trap 'exit 130' INT TERM

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$DIR/redis" \
  --logfile "$DIR/redis/log" &
PIDS+=($!)

export FLASK_APP=wsgi.py
export DOORSTEP_INSTANCE=$DIR/instance
# production settings (wsgi.py refuses to start without them), made for this run unless given
export SECRET_KEY=${SECRET_KEY:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')}
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:${PORT:-8000}}
export JOBS_BACKEND=rq
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
for _ in $(seq 100); do
  "$BIN/python" -c "import redis,sys; redis.Redis.from_url('$REDIS_URL').ping()" 2>/dev/null && break
  sleep 0.1
done
echo "stack: Redis on 127.0.0.1:$REDIS_PORT, instance dir $DOORSTEP_INSTANCE" >&2

"$BIN/flask" db upgrade >"$DIR/upgrade.log" 2>&1 || { cat "$DIR/upgrade.log" >&2; exit 1; }

# the production layout (docs/deploy.md): one worker for the urgent queues only, so a push
# never waits behind a solve, and one for every queue, most urgent first
"$BIN/python" -m backend.worker push packets >"$DIR/worker-urgent.log" 2>&1 &
PIDS+=($!)
"$BIN/python" -m backend.worker >"$DIR/worker-all.log" 2>&1 &
PIDS+=($!)
echo "stack: RQ workers (python -m backend.worker push packets; python -m backend.worker), logs $DIR/worker-*.log" >&2

if [ "${1:-}" = run ]; then
  shift
  set +e
  "$@"
  status=$?
  set -e
  for log in "$DIR"/worker-*.log; do
    if grep -q Traceback "$log"; then
      echo "stack: an RQ worker logged errors ($(basename "$log")):" >&2
      cat "$log" >&2
    fi
  done
  exit $status
fi

PORT=${PORT:-8000}
# 4 workers × 4 threads on two cores: requests mostly wait on PostgreSQL; 8 × 2 measured the
# same under bench/load.py (docs/load.md)
WORKERS=${WORKERS:-4}
if [ "${SEED:-1}" = 1 ]; then
  "$BIN/flask" demo seed --if-empty
  "$BIN/flask" demo today
  export DOORSTEP_DEMO=1
fi
echo "stack: gunicorn, $WORKERS workers, on http://127.0.0.1:$PORT/  (Ctrl-C stops everything)" >&2
"$BIN/gunicorn" --config gunicorn.conf.py --bind "127.0.0.1:$PORT" --workers "$WORKERS" --threads "${THREADS:-4}" \
  wsgi:app &
PIDS+=($!)
wait "${PIDS[-1]}"
