# The start/stop skeleton shared by scripts/dynamodb-local.sh and scripts/kinesis-local.sh.
# Sourced, not run. The sourcing script sets, before calling `local_server_main "$@"`:
#
#   SERVER_NAME            e.g. dynamodb-local: log prefix, and <state-dir>/<name>.<port>.{pid,log}
#   CACHE                  its install directory; pid files live in $CACHE/run by default
#   STARTUP_TIMEOUT_SECS   how long `start` waits for an answer
#   STOP_TIMEOUT_SECS      how long `stop` waits after SIGTERM before SIGKILL
#   PROCESS_PATTERN        what /proc/PID/cmdline must contain for `stop` to touch PID
#
# and defines these functions:
#
#   cmd_install            installs the server (idempotent)
#   server_answers PORT    succeeds once the server on PORT answers
#   launch PORT            execs the server in the foreground on PORT (called in the state
#                          directory, with stdout/stderr to the log, in its own session)
#   parse_start_option     handles one script-specific `start` option: sets START_SHIFT to
#                          the words it used, or returns 1 for an unknown option
#   export_endpoint URL    exports the variables `run` gives its command

log() { echo "$SERVER_NAME: $*" >&2; }

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"
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

wait_until_answers() {
  local port="$1" pid="$2" deadline=$((SECONDS + STARTUP_TIMEOUT_SECS))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "process $pid exited before answering on port $port"; return 1
    fi
    if server_answers "$port"; then return 0; fi
    sleep 0.2
  done
  log "no answer on port $port within ${STARTUP_TIMEOUT_SECS}s"; return 1
}

# start [--port N] [--watch-pid PID] [--state-dir DIR] [script-specific options]
cmd_start() {
  local port="" watch_pid="" state_dir="$CACHE/run"
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) port="$2"; shift 2 ;;
      --watch-pid) watch_pid="$2"; shift 2 ;;
      --state-dir) state_dir="$2"; shift 2 ;;
      *)
        START_SHIFT=0
        parse_start_option "$@" || { log "unknown option $1"; exit 2; }
        shift "$START_SHIFT" ;;
    esac
  done
  cmd_install
  [ -n "$port" ] || port="$(free_port)"
  mkdir -p "$state_dir"
  local logfile="$state_dir/$SERVER_NAME.$port.log"
  # setsid: the server gets its own process group, so a Ctrl-C in a test does not race our
  # stop. Run from the state directory: whatever the server writes into its working directory
  # must not litter the caller's.
  pushd "$state_dir" >/dev/null
  ( launch "$port" ) >"$logfile" 2>&1 </dev/null &
  local pid=$!
  popd >/dev/null
  echo "$pid" >"$state_dir/$SERVER_NAME.$port.pid"
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

# stop PID: exactly that PID, and only if it is this kind of server.
cmd_stop() {
  local pid="${1:?usage: stop PID}"
  # Forget its pid file (a later server may reuse the port).
  # (No pid file is fine: grep finding nothing must not end the script under pipefail.)
  { grep -lx "$pid" "$CACHE"/run/"$SERVER_NAME".*.pid 2>/dev/null || true; } | xargs -r rm -f
  if ! is_running "$pid"; then return 0; fi
  if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$PROCESS_PATTERN"; then
    log "refusing to stop $pid: it is not a $SERVER_NAME process"; exit 1
  fi
  kill "$pid"
  wait_until_gone "$pid" "$STOP_TIMEOUT_SECS" && return 0
  kill -9 "$pid" 2>/dev/null || true
  wait_until_gone "$pid" 5 || log "process $pid did not stop"
}

RUN_PID=""
# run COMMAND...: start, export the endpoint, run COMMAND, stop whatever COMMAND returned.
cmd_run() {
  local started port status=0
  started="$(cmd_start)"
  port="${started% *}"; RUN_PID="${started#* }"
  trap 'cmd_stop "$RUN_PID"' EXIT
  log "running on http://127.0.0.1:$port (pid $RUN_PID)"
  export_endpoint "http://127.0.0.1:$port"
  "$@" || status=$?
  return "$status"
}

# The usage: the sourcing script's header comment (its lines 2.. up to the first other line).
usage() {
  awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"
}

local_server_main() {
  case "${1:-}" in
    install) shift; cmd_install "$@" ;;
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    run) shift; cmd_run "$@" ;;
    *) usage; exit 2 ;;
  esac
}
