#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the echo example as two processes: the server in the background, the client against it.
# Usage: run_echo_two_processes.sh SERVER_BINARY CLIENT_BINARY. Exits with the client's status
# (or 1 if the server did not start or did not stop cleanly).
set -euo pipefail
server_binary=$1
client_binary=$2
directory=$(mktemp -d /tmp/vmbkit-echo-XXXXXX)
socket="$directory/bus/echo.sock"
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$directory"
}
trap cleanup EXIT
exec 3< <("$server_binary" "$socket")
server_pid=$!
# The server prints "ready" once it listens; give it 20 s.
if ! read -r -t 20 line <&3 || [[ $line != ready ]]; then
  echo "run_echo_two_processes: the server did not start" >&2
  exit 1
fi
status=0
"$client_binary" "$socket" || status=$?
kill -TERM "$server_pid"
server_status=0
wait "$server_pid" || server_status=$?
server_pid=
if ((server_status != 0)); then
  echo "run_echo_two_processes: the server exited with status $server_status" >&2
  ((status != 0)) || status=1
fi
exit "$status"
