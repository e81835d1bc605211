#!/usr/bin/env bash
# Benchmark: `validate --all` of N keys (default 1000) at --concurrency C
# (default 64), side by side with this host's ceiling, in one run:
#
#   1. the ceiling: nginx (1 worker) on 127.0.0.1 answering the probe path
#      with a small 200 body, loaded by wrk with C connections and 1 thread,
#      kept alive, then with a new connection per request;
#   2. `validate --all` of N keys pointed at that nginx (every key valid):
#      median wall time of RUNS runs (default 5), and the ratio to the time
#      N kept-alive requests take at the ceiling (N / ceiling req/s);
#   3. the same N keys against the mock provider, 1 in 7 revoked (the
#      outcome mix), and a pool where 1 key in 10 answers 503 twice (retries
#      stay within their budget: at most 3 attempts per key, within --timeout).
#
#   scripts/bench-validate.sh [N] [C]      KEYWARDEN_BIN=DIR: use the binaries in DIR (no build)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
N="${1:-1000}"; C="${2:-64}"; RUNS="${RUNS:-5}"
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v /usr/bin/time >/dev/null 2>&1 || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || { $SUDO apt-get update -qq >/dev/null; $SUDO apt-get install -y -qq "${need[@]}" >/dev/null; }
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
if [ -n "${KEYWARDEN_BIN:-}" ]; then
  BIN="$KEYWARDEN_BIN"
elif [ -f scripts/build-release.sh ]; then
  source scripts/build-release.sh
  build_release keywarden keywarden-cli keywarden-mock
  BIN="$RELEASE_BIN"
else
  swift build -c release --static-swift-stdlib --product keywarden >/dev/null
  swift build -c release --static-swift-stdlib --product keywarden-mock >/dev/null
  BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)"
fi
WORK="$(mktemp -d)"; MOCK_PID=""; NGINX_PID=""
export KEYWARDEN_STATE_DIR="$WORK/state"   # the throwaway vaults' audit anchors stay with them
trap 'for p in $MOCK_PID $NGINX_PID; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

# --- the ceiling: nginx on loopback, the probe path answered with a small 200 body
NGINX_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<EOF
worker_processes 1; daemon off; pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/error.log crit;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000000; keepalive_timeout 75s;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server { listen 127.0.0.1:$NGINX_PORT backlog=4096; default_type application/json;
    location / { return 200 '{"data":[]}'; } } }
EOF
"$NGINX" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" 2>/dev/null & NGINX_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$NGINX_PORT/v1/models" >/dev/null 2>&1 && break; sleep 0.05; done
rps() { sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p'; }
wrk -c "$C" -t 1 -d 2s "http://127.0.0.1:$NGINX_PORT/v1/models" >/dev/null   # warm-up
KEEPALIVE_RPS="$(wrk -c "$C" -t 1 -d 5s "http://127.0.0.1:$NGINX_PORT/v1/models" | rps)"
NEWCONN_RPS="$(wrk -c "$C" -t 1 -d 5s -H 'Connection: close' "http://127.0.0.1:$NGINX_PORT/v1/models" | rps)"

# --- vaults: N made-up keys in Anthropic's format. The mock picks its answer
# from words in the key, so the random part is digits only; every 7th key is
# revoked, and in the second pool every 10th is "flaky" (503 twice, then valid).
make_keys() {
python3 - "$N" "$1" <<'PY'
import sys, random
n, mode = int(sys.argv[1]), sys.argv[2]; rnd = random.Random(42)
for i in range(n):
    word = "valid" if mode == "valid" else "invalid" if i % 7 == 0 else ("flaky" if mode == "flaky" and i % 10 == 0 else "valid")
    tail = "".join(rnd.choice("0123456789") for _ in range(60))
    print(f"KEY_{i:05d}=sk-ant-api03-{word}-{tail}AA")
PY
}
vault() {  # vault NAME BASE_URL SCOPE:MODE...
  local home="$WORK/vault-$1" url="$2"; shift 2
  KEYWARDEN_HOME="$home" "$BIN/keywarden" init --keyfile "$home.key" --scope bench >/dev/null
  KEYWARDEN_HOME="$home" KEYWARDEN_KEYFILE="$home.key" "$BIN/keywarden" provider set anthropic --base-url "$url" >/dev/null
  for pool in "$@"; do
    local scope="${pool%%:*}"
    [ "$scope" = bench ] || KEYWARDEN_HOME="$home" KEYWARDEN_KEYFILE="$home.key" "$BIN/keywarden" scope add "$scope" >/dev/null
    make_keys "${pool##*:}" > "$WORK/$scope.env"
    KEYWARDEN_HOME="$home" KEYWARDEN_KEYFILE="$home.key" "$BIN/keywarden" import "$WORK/$scope.env" --scope "$scope" >/dev/null
  done
}
"$BIN/keywarden-mock" 0 > "$WORK/mock.log" & MOCK_PID=$!
for _ in $(seq 50); do grep -q "provider set anthropic" "$WORK/mock.log" 2>/dev/null && break; sleep 0.1; done
vault nginx "http://127.0.0.1:$NGINX_PORT" bench:valid
vault mock "$(grep 'provider set anthropic ' "$WORK/mock.log" | awk '{print $NF}')" bench:mix flaky:flaky

# validate NAME SCOPE: one run, its JSON in $WORK/NAME-SCOPE.json; prints "wall_s rss_kib"
validate() {
  KEYWARDEN_HOME="$WORK/vault-$1" KEYWARDEN_KEYFILE="$WORK/vault-$1.key" /usr/bin/time -f "%e %M" -o "$WORK/time.txt" \
    "$BIN/keywarden" validate anthropic --scope "$2" --all --concurrency "$C" --json > "$WORK/$1-$2.json" || true
  tail -1 "$WORK/time.txt"
}
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
validate nginx bench >/dev/null   # warm-up (page cache, first audit writes)
walls=(); rss=0
for _ in $(seq "$RUNS"); do read -r wall peak < <(validate nginx bench); walls+=("$wall"); rss="$peak"; done
python3 - "$N" "$C" "$KEEPALIVE_RPS" "$NEWCONN_RPS" "$rss" "${walls[@]}" <<'PY'
import sys, statistics
n, c, keep, new, rss = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
walls = sorted(float(w) for w in sys.argv[6:])
median = statistics.median(walls)
print(f"ceiling: nginx (1 worker) on 127.0.0.1, wrk -c {c} -t 1: {keep:,.0f} req/s kept alive, {new:,.0f} req/s with a new connection each")
print(f"  {n} requests at the ceiling: {n / keep * 1000:.1f} ms kept alive, {n / new * 1000:.1f} ms with new connections")
print(f"validate --all, {n} keys at nginx, --concurrency {c}: median {median * 1000:.0f} ms over {len(walls)} runs "
      f"(min {walls[0] * 1000:.0f}, max {walls[-1] * 1000:.0f}), peak RSS {rss // 1024} MiB")
print(f"  ratio validate / {n} kept-alive requests at the ceiling: {median / (n / keep):.1f}x   "
      f"(vs new connections: {median / (n / new):.1f}x)   target: validate <= 0.3 s")
PY
summary "$WORK/nginx-bench.json"
for pool in bench flaky; do
  read -r wall peak < <(validate mock "$pool")
  echo "validate --all, $N keys at the mock provider (scope $pool$([ "$pool" = flaky ] && echo ", 1 in 10 answering 503 twice")): wall $wall s, peak RSS $((peak / 1024)) MiB"
  summary "$WORK/mock-$pool.json"
done
