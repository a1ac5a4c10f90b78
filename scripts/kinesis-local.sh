#!/usr/bin/env bash
# Install, start and stop kinesis-local (kinesis-mock, the npm package `kinesis-local`, which
# needs Node.js only) for development and tests, like scripts/dynamodb-local.sh.
#
#   scripts/kinesis-local.sh install
#       Installs the package into .cache/kinesis-local (git-ignored). Idempotent; concurrent
#       installs wait for each other.
#   scripts/kinesis-local.sh start [--port N] [--watch-pid PID] [--state-dir DIR]
#       Starts it on a free loopback port (or N) for plain HTTP (KINESIS_MOCK_PLAIN_PORT) and
#       another free port for its HTTPS listener (KINESIS_MOCK_TLS_PORT), waits until it
#       answers, prints `PORT PID` on stdout and records the PID it started in
#       DIR/kinesis-local.<port>.pid. With --watch-pid the server is also stopped when that
#       process exits. Streams live in memory. kinesis-mock's own variables (LOG_LEVEL,
#       CREATE_STREAM_DURATION, SHARD_LIMIT, INITIALIZE_STREAMS, ...) are passed through.
#   scripts/kinesis-local.sh stop PID
#       Stops exactly that PID, and only if it is a kinesis-local node process: SIGTERM, then
#       SIGKILL after KINESIS_LOCAL_STOP_TIMEOUT seconds (3; a client's open connection
#       holds up its graceful shutdown).
#   scripts/kinesis-local.sh run COMMAND...
#       install + start, exports AWS_ENDPOINT_URL_KINESIS (the AWS SDKs' variable for the
#       Kinesis endpoint) and EVENTOSAURUS_TEST_KINESIS_ENDPOINT, runs COMMAND, then stops the
#       server it started, whatever COMMAND returned.
#
# Both local servers for one command:
#   scripts/dynamodb-local.sh run scripts/kinesis-local.sh run cargo test
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACKAGE_VERSION="${KINESIS_LOCAL_NPM_VERSION:-0.6.2}"
CACHE="${EVENTOSAURUS_CACHE_DIR:-$ROOT/.cache}/kinesis-local"
STARTUP_TIMEOUT_SECS="${KINESIS_LOCAL_STARTUP_TIMEOUT:-60}"
STOP_TIMEOUT_SECS="${KINESIS_LOCAL_STOP_TIMEOUT:-3}"

log() { echo "kinesis-local: $*" >&2; }

package_dir() {
  local dir="$CACHE/node_modules/kinesis-local"
  [ -f "$dir/main.js" ] && [ -f "$dir/server.json" ] && echo "$dir"
}

cmd_install() {
  if package_dir >/dev/null; then return 0; fi
  command -v node >/dev/null || { log "node is required to run kinesis-local"; exit 1; }
  command -v npm >/dev/null || { log "npm is required to install kinesis-local"; exit 1; }
  mkdir -p "$CACHE"
  (
    # One installer at a time: parallel test processes may all ask for it.
    flock 9
    if package_dir >/dev/null; then exit 0; fi
    log "installing kinesis-local@$PACKAGE_VERSION into $CACHE"
    npm install --silent --no-audit --no-fund --no-save --prefix "$CACHE" \
        "kinesis-local@$PACKAGE_VERSION" >&2
  ) 9>"$CACHE/.install.lock"
  package_dir >/dev/null || { log "install finished but kinesis-local/main.js was not found under $CACHE"; exit 1; }
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
    # kinesis-mock answers 200 on /healthcheck once its routes are up.
    local code
    code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/healthcheck" || true)"
    if [ "$code" = "200" ]; then return 0; fi
    sleep 0.2
  done
  log "no answer on port $port within ${STARTUP_TIMEOUT_SECS}s"; return 1
}

cmd_start() {
  local port="" watch_pid="" state_dir="$CACHE/run"
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) port="$2"; shift 2 ;;
      --watch-pid) watch_pid="$2"; shift 2 ;;
      --state-dir) state_dir="$2"; shift 2 ;;
      *) log "unknown option $1"; exit 2 ;;
    esac
  done
  cmd_install
  local dir; dir="$(package_dir)"
  [ -n "$port" ] || port="$(free_port)"
  local tls_port
  tls_port="$(free_port)"
  while [ "$tls_port" = "$port" ]; do tls_port="$(free_port)"; done
  mkdir -p "$state_dir"
  local logfile="$state_dir/kinesis-local.$port.log"
  # setsid: its own process group, so a Ctrl-C in a test does not race our stop. Run from the
  # state directory: anything it writes (a persistence directory, if asked for) stays there.
  pushd "$state_dir" >/dev/null
  KINESIS_MOCK_PLAIN_PORT="$port" KINESIS_MOCK_TLS_PORT="$tls_port" \
  KINESIS_MOCK_CERT_PATH="$dir/server.json" LOG_LEVEL="${LOG_LEVEL:-WARN}" \
      setsid node "$dir/main.js" >"$logfile" 2>&1 </dev/null &
  local pid=$!
  popd >/dev/null
  echo "$pid" >"$state_dir/kinesis-local.$port.pid"
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
  # (No pid file is fine: grep finding nothing must not end the script under pipefail.)
  { grep -lx "$pid" "$CACHE"/run/kinesis-local.*.pid 2>/dev/null || true; } | xargs -r rm -f
  if ! is_running "$pid"; then return 0; fi
  if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kinesis-local/main.js'; then
    log "refusing to stop $pid: it is not a kinesis-local process"; exit 1
  fi
  # SIGTERM starts kinesis-mock's graceful shutdown, which waits for clients' open keep-alive
  # connections; it keeps nothing worth a wait (streams live in memory), so after
  # STOP_TIMEOUT_SECS it gets SIGKILL.
  kill "$pid"
  wait_until_gone "$pid" "$STOP_TIMEOUT_SECS" && return 0
  kill -9 "$pid" 2>/dev/null || true
  wait_until_gone "$pid" 5 || log "process $pid did not stop"
}

# Whether the process runs (a zombie, which nobody may reap here, has stopped).
is_running() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1 || true)"
  [ -n "$state" ] && [ "$state" != "Z" ]
}

wait_until_gone() {
  local pid="$1" tenths=$(($2 * 10))
  for _ in $(seq 1 "$tenths"); do
    is_running "$pid" || return 0
    sleep 0.1
  done
  ! is_running "$pid"
}

RUN_PID=""
cmd_run() {
  local started port status=0
  started="$(cmd_start)"
  port="${started% *}"; RUN_PID="${started#* }"
  trap 'cmd_stop "$RUN_PID"' EXIT
  log "running on http://127.0.0.1:$port (pid $RUN_PID)"
  export AWS_ENDPOINT_URL_KINESIS="http://127.0.0.1:$port"
  export EVENTOSAURUS_TEST_KINESIS_ENDPOINT="$AWS_ENDPOINT_URL_KINESIS"
  "$@" || status=$?
  return "$status"
}

case "${1:-}" in
  install) shift; cmd_install "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  run) shift; cmd_run "$@" ;;
  *) sed -n '2,24p' "$0"; exit 2 ;;
esac
