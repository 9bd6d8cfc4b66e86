#!/usr/bin/env bash
# Runs every test Herald has: .NET (xunit) and JavaScript (node:test, Playwright with Debian's Chromium).
# Installs what the tests need on a fresh machine: the Debian packages of the real components the tests
# start (redis-server + sentinel, postgresql, nginx + nchan, chromium, prometheus), curl and jq (the README quick
# start, run by ReadmeQuickStartTests) and the npm packages (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

packages=(redis-server redis-sentinel postgresql nginx libnginx-mod-nchan chromium prometheus curl jq)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts these as system services on install; the tests run their own instances on free ports.
for svc in redis-server redis-sentinel postgresql nginx prometheus; do
  (command -v systemctl >/dev/null && systemctl stop "$svc" 2>/dev/null) || service "$svc" stop >/dev/null 2>&1 || true
done

echo "== building"
dotnet build Herald.slnx -c Release -nologo -clp:ErrorsOnly

if [ -f clients/js/package.json ]; then
  echo "== npm ci (clients/js)"
  (cd clients/js && npm ci --no-audit --no-fund --loglevel=error)
fi

# The app example's own dependency (jose): clients/js/test/apps-example.test.mjs runs the example as it ships.
if [ -f examples/apps-node/package.json ]; then
  echo "== npm ci (examples/apps-node)"
  (cd examples/apps-node && npm ci --no-audit --no-fund --loglevel=error)
fi

status=0
# One test project at a time (-m:1): the suites start real servers and time-sensitive streams, and this machine
# has two cores; running them side by side only makes them slower and flakier.
# --blame-hang: a test that hangs fails the run within minutes, naming the test and leaving a dump, instead of
# running into CI's time limit with nothing to show.
echo "== .NET tests"
# The output is kept so the end of the run can repeat which tests failed: CI shows only the last lines.
dotnet_log=$(mktemp -t herald-dotnet-test.XXXXXX)
trap 'rm -f "$dotnet_log"' EXIT
set +e
dotnet test Herald.slnx -c Release --no-build -nologo -m:1 --blame-hang --blame-hang-timeout 5m --logger "console;verbosity=minimal" 2>&1 | tee "$dotnet_log"
dotnet_status=${PIPESTATUS[0]}
set -e
[ "$dotnet_status" -ne 0 ] && status=$dotnet_status

if [ -f clients/js/package.json ]; then
  echo "== JavaScript tests"
  (cd clients/js && HERALD_DLL="$root/src/Herald.Cli/bin/Release/net10.0/herald.dll" npm test) || status=$?
fi

if [ $status -ne 0 ]; then
  if [ "$dotnet_status" -ne 0 ]; then
    echo "== .NET failures (repeated from above)"
    grep -E -A12 '^\s*Failed [A-Za-z_]|^\s*\[FAIL\]|error [A-Z]+[0-9]+:|Test host process crashed|The active test run was aborted' "$dotnet_log" | cut -c1-400 | head -150 || true
    grep -E '^(Failed|Passed)!' "$dotnet_log" || true
  fi
  echo "TESTS FAILED"
else
  echo "ALL TESTS PASSED"
fi
exit $status
