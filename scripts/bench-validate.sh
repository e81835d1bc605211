#!/usr/bin/env bash
# Benchmark: validate N keys (default 1000) against the local mock provider
# with --concurrency C (default 64); prints wall time, peak memory (max RSS)
# and how many requests the mock received (retries never exceed the budget).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
N="${1:-1000}"; C="${2:-64}"
command -v /usr/bin/time >/dev/null 2>&1 || { $SUDO apt-get install -y -qq time >/dev/null 2>&1 || { $SUDO apt-get update -qq >/dev/null; $SUDO apt-get install -y -qq time >/dev/null; }; }
swift build -c release --static-swift-stdlib --product keywarden >/dev/null
swift build -c release --static-swift-stdlib --product keywarden-mock >/dev/null
BIN="$(swift build -c release --show-bin-path)"
WORK="$(mktemp -d)"; trap 'kill $MOCK_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$BIN/keywarden-mock" 0 > "$WORK/mock.log" & MOCK_PID=$!
for _ in $(seq 50); do grep -q "provider set anthropic" "$WORK/mock.log" 2>/dev/null && break; sleep 0.1; done
export KEYWARDEN_HOME="$WORK/vault" KEYWARDEN_KEYFILE="$WORK/vault.key"
"$BIN/keywarden" init --keyfile "$KEYWARDEN_KEYFILE" --scope bench >/dev/null
"$BIN/keywarden" provider set anthropic --base-url "$(grep 'provider set anthropic ' "$WORK/mock.log" | awk '{print $NF}')" >/dev/null
# N made-up keys in Anthropic's format. The mock picks its answer from words
# in the key, so the random part is digits only; every 7th key is revoked.
# A second pool adds a "flaky" word to every 10th key (503 twice, then valid)
# to show that retries stay within their budget (3 attempts, within --timeout).
make_keys() {
python3 - "$N" "$1" <<'PY'
import sys, random
n, flaky = int(sys.argv[1]), sys.argv[2] == "flaky"; rnd = random.Random(42)
for i in range(n):
    word = "invalid" if i % 7 == 0 else ("flaky" if flaky and i % 10 == 0 else "valid")
    tail = "".join(rnd.choice("0123456789") for _ in range(60))
    print(f"KEY_{i:05d}=sk-ant-api03-{word}-{tail}AA")
PY
}
"$BIN/keywarden" scope add flaky >/dev/null
make_keys plain > "$WORK/plain.env"; "$BIN/keywarden" import "$WORK/plain.env" --scope bench >/dev/null
make_keys flaky > "$WORK/flaky.env"; "$BIN/keywarden" import "$WORK/flaky.env" --scope flaky >/dev/null
summary() {
python3 - "$1" <<'PY'
import json, sys, collections
r = json.load(open(sys.argv[1]))
lat = sorted(x["latency_ms"] for x in r)
print("  outcomes:", dict(collections.Counter(x["outcome"] for x in r)),
      f"| attempts: max {max(x['attempts'] for x in r)}, total {sum(x['attempts'] for x in r)}",
      f"| per-key latency p50 {lat[len(lat)//2]:.1f} ms, p99 {lat[int(len(lat)*0.99)-1]:.1f} ms")
PY
}
for pool in bench flaky; do
  echo "validating $N keys (scope $pool) with --concurrency $C…"
  /usr/bin/time -f "  wall %e s, peak RSS %M KiB" "$BIN/keywarden" validate anthropic --scope "$pool" --concurrency "$C" --json > "$WORK/$pool.json" 2> "$WORK/time.txt" || true
  grep -E "wall" "$WORK/time.txt"
  summary "$WORK/$pool.json"
done
