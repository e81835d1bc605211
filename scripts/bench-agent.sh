#!/usr/bin/env bash
# Benchmark: start an agent on a temporary vault and drive GET /v1/keys/anthropic
# with C concurrent keep-alive clients (default 32) for S seconds (default 10);
# print requests/s, latency percentiles and the agent's peak memory; then time
# `keywarden run --scope bench -- true` through the agent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
C="${1:-32}"; S="${2:-10}"
swift build -c release --static-swift-stdlib --product keywarden >/dev/null
swift build -c release --static-swift-stdlib --product keywarden-bench >/dev/null
BIN="$(swift build -c release --show-bin-path)"
WORK="$(mktemp -d)"; trap 'kill $AGENT_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
export KEYWARDEN_HOME="$WORK/vault" KEYWARDEN_KEYFILE="$WORK/vault.key" KEYWARDEN_SOCKET="$WORK/run/agent.sock"
"$BIN/keywarden" init --keyfile "$KEYWARDEN_KEYFILE" --scope bench >/dev/null
echo "sk-ant-api03-$(head -c 200 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 93)AA" | "$BIN/keywarden" key add anthropic --scope bench >/dev/null
KEYWARDEN_LOG_LEVEL=warning "$BIN/keywarden" serve 2>/dev/null & AGENT_PID=$!
for _ in $(seq 100); do [ -S "$KEYWARDEN_SOCKET" ] && break; sleep 0.05; done
"$BIN/keywarden-bench" "$KEYWARDEN_SOCKET" "/v1/keys/anthropic?scope=bench" "$C" 1 >/dev/null   # warm-up
"$BIN/keywarden-bench" "$KEYWARDEN_SOCKET" "/v1/keys/anthropic?scope=bench" "$C" "$S"
echo "agent peak memory: $(grep VmHWM /proc/$AGENT_PID/status | awk '{print $2, $3}')"
# keywarden run through the agent, start to exit, 50 times.
python3 - "$BIN/keywarden" <<'PY'
import subprocess, sys, time, statistics
times = []
for _ in range(50):
    t = time.perf_counter()
    subprocess.run([sys.argv[1], "run", "--scope", "bench", "--", "true"], check=True, env={**__import__("os").environ, "KEYWARDEN_KEYFILE": ""})
    times.append((time.perf_counter() - t) * 1000)
times.sort()
print(f"keywarden run --scope bench -- true via the agent: median {statistics.median(times):.1f} ms, p90 {times[int(len(times)*0.9)]:.1f} ms, max {times[-1]:.1f} ms")
PY
kill -TERM $AGENT_PID; wait $AGENT_PID 2>/dev/null || true
