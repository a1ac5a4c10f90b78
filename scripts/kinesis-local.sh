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

SERVER_NAME=kinesis-local
PROCESS_PATTERN=kinesis-local/main.js
# shellcheck source=lib/local-server.sh
source "$ROOT/scripts/lib/local-server.sh"

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

# kinesis-mock answers 200 on /healthcheck once its routes are up.
server_answers() {
  local code
  code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1/healthcheck" || true)"
  [ "$code" = "200" ]
}

parse_start_option() { return 1; }

# Plain HTTP on the port, HTTPS on another free one. Anything it writes (a persistence
# directory, if asked for) stays in the state directory, its working directory.
launch() {
  local dir tls_port
  dir="$(package_dir)"
  tls_port="$(free_port)"
  while [ "$tls_port" = "$1" ]; do tls_port="$(free_port)"; done
  # SIGTERM starts kinesis-mock's graceful shutdown, which waits for clients' open keep-alive
  # connections; it keeps nothing worth a wait (streams live in memory), so `stop` sends
  # SIGKILL after STOP_TIMEOUT_SECS.
  KINESIS_MOCK_PLAIN_PORT="$1" KINESIS_MOCK_TLS_PORT="$tls_port" \
  KINESIS_MOCK_CERT_PATH="$dir/server.json" LOG_LEVEL="${LOG_LEVEL:-WARN}" \
      exec setsid node "$dir/main.js"
}

export_endpoint() {
  export AWS_ENDPOINT_URL_KINESIS="$1"
  export EVENTOSAURUS_TEST_KINESIS_ENDPOINT="$AWS_ENDPOINT_URL_KINESIS"
}

local_server_main "$@"
