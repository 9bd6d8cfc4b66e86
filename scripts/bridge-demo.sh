#!/usr/bin/env bash
# Seed 004's demo (its test-app.cmd): the test SSE server, the bridge and the test client together.
# The server and the bridge run in the background with their output in a temp directory; the client runs in
# the foreground; both background processes are stopped when the script ends, however it ends.
#
#   scripts/bridge-demo.sh [SETTINGS_JSON]      default: scripts/bridge-demo.settings.json (the seed's file)
#   CONFIGURATION=Release scripts/bridge-demo.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
settings="$(realpath "${1:-$root/scripts/bridge-demo.settings.json}")"
configuration="${CONFIGURATION:-Debug}"
herald="$root/src/Herald.Cli/bin/$configuration/net10.0/herald"
logs="$(mktemp -d "${TMPDIR:-/tmp}/herald-bridge-demo.XXXXXX")"
pids=()

cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    echo "--- test server log ($logs/testserver.log)"; cat "$logs/testserver.log" 2>/dev/null || true
    echo "--- bridge log ($logs/bridge.log)"; cat "$logs/bridge.log" 2>/dev/null || true
  else
    echo "Logs: $logs"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits until a log shows the process is serving (it prints its 🚀 line after it has bound its port).
wait_ready() {
  local name="$1" log="$2" pid="$3"
  for _ in $(seq 1 100); do
    if grep -q "🚀" "$log" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited before it was ready." >&2
      return 1
    fi
    sleep 0.1
  done
  echo "$name was not ready within 10 s." >&2
  return 1
}

echo "Building Herald ($configuration)..."
dotnet build "$root/src/Herald.Cli" -c "$configuration" -nologo -v quiet >"$logs/build.log" 2>&1 || { cat "$logs/build.log"; exit 1; }

echo "Settings: $settings"
"$herald" testserver --settings "$settings" >"$logs/testserver.log" 2>&1 &
pids+=($!)
wait_ready "The test server" "$logs/testserver.log" "${pids[-1]}"
grep "🚀" "$logs/testserver.log"

"$herald" bridge --settings "$settings" >"$logs/bridge.log" 2>&1 &
pids+=($!)
wait_ready "The bridge" "$logs/bridge.log" "${pids[-1]}"
grep "🚀" "$logs/bridge.log"
echo

"$herald" testclient --settings "$settings"
