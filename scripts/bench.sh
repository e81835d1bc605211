#!/usr/bin/env bash
# Keywarden's benchmarks, each side by side with its ceiling in the same run,
# printed as ratios (issue 12). Release build, static Swift runtime, stripped.
#
#   scripts/bench.sh                 every section
#   scripts/bench.sh agent startup   only those sections
#
# Sections:
#   agent     GET /v1/keys/{provider} over 32 keep-alive connections on the
#             agent's Unix socket vs nginx (1 worker) answering a body of the
#             same size on a Unix socket, same load generator (scripts/bench/loadgen.c)
#   startup   `keywarden --version` vs a static Swift hello-world that imports
#             Foundation and reads the environment (and one that only prints)
#   run       `keywarden run --scope S -- true` and `export` through the agent
#   validate  `validate` of 1,000 keys vs the same host's keep-alive ceiling
#             (scripts/bench-validate.sh)
#   memory    the agent's RSS after serving 10,000 values
#   gateway   POST /anthropic/v1/messages (JSON, then SSE) sent straight to
#             `keywarden-mock --bench`, through `serve --gateway` with a
#             token, and through nginx (1 worker) as a keep-alive reverse
#             proxy that adds the key: the ceiling of any proxy on this
#             machine. Interleaved direct/gateway/nginx, medians. Throughput
#             (closed loop), added latency at a fixed offered load
#             (GATEWAY_RATE req/s over the same connections, open loop) and
#             under the closed loop, SSE added time to first byte, the
#             agent's CPU per request and VmHWM (issue 11, design §10)
#   storage   the same vault on SQLite and on PostgreSQL (a throwaway local
#             server, fsync on): key reads per second through the agent (both
#             served from its cache) and writes per second (config.set over
#             the agent's API: a transaction, its audit event, the commit)
#
# Environment: CONNECTIONS (32), DURATION (seconds per load run, 10), RUNS (start-up repetitions, 200),
# ROUNDS (direct/gateway/nginx rounds per workload, 2), GATEWAY_RATE (fixed load, 5000 req/s),
# BENCH_BIN (a folder of already built binaries to measure instead of building).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
SECTIONS=("$@"); [ ${#SECTIONS[@]} -gt 0 ] || SECTIONS=(startup run agent memory validate gateway)
CONNECTIONS="${CONNECTIONS:-32}"; SECONDS_PER_RUN="${DURATION:-10}"; RUNS="${RUNS:-200}"

# --- what the benchmarks need, installed only where missing -----------------
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || { $SUDO apt-get update -qq >/dev/null; $SUDO apt-get install -y -qq "${need[@]}" >/dev/null; }
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

if [ -n "${BENCH_BIN:-}" ]; then
  BIN="$BENCH_BIN"   # binaries built earlier (e.g. a copy of a previous commit's), for before/after figures
else
  echo "bench: building (release, static Swift runtime)…"
  source scripts/build-release.sh
  build_release keywarden keywarden-cli keywarden-mock
  BIN="$RELEASE_BIN"
fi

WORK="$(mktemp -d)"
PIDS=()
cleanup() { for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
gcc -O2 -o "$WORK/loadgen" scripts/bench/loadgen.c
swiftc -O -static-stdlib scripts/bench/hello-foundation.swift -o "$WORK/hello-foundation" 2>/dev/null
swiftc -O -static-stdlib scripts/bench/hello-print.swift -o "$WORK/hello-print" 2>/dev/null

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"
echo "keywarden: $(git rev-parse --short HEAD 2>/dev/null || echo '?'), binary $(du -h "$BIN/keywarden" | cut -f1)"

# A vault with one key in scope "bench", and an agent serving it.
export KEYWARDEN_HOME="$WORK/vault" KEYWARDEN_KEYFILE="$WORK/vault.key" KEYWARDEN_SOCKET="$WORK/run/agent.sock"
# The vaults here are thrown away: so are their audit anchors (not in ~/.local/state).
export KEYWARDEN_STATE_DIR="$WORK/state"
"$BIN/keywarden" init --keyfile "$KEYWARDEN_KEYFILE" --scope bench >/dev/null
python3 -c 'import random; r=random.Random(7); print("sk-ant-api03-" + "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(93)) + "AA")' \
  | "$BIN/keywarden" key add anthropic --scope bench >/dev/null
echo "OPENAI_MODEL=gpt-test" > "$WORK/config.env"; "$BIN/keywarden" import "$WORK/config.env" --scope bench >/dev/null
start_agent() {
  KEYWARDEN_LOG_LEVEL=warning "$BIN/keywarden" serve 2>"$WORK/agent.log" & AGENT_PID=$!; PIDS+=("$AGENT_PID")
  for _ in $(seq 200); do curl -sf --unix-socket "$KEYWARDEN_SOCKET" http://agent/v1/health >/dev/null 2>&1 && return; sleep 0.05; done
  echo "bench: the agent did not start:" >&2; cat "$WORK/agent.log" >&2; exit 1
}
stop_agent() { kill -TERM "$AGENT_PID" 2>/dev/null || true; wait "$AGENT_PID" 2>/dev/null || true; }

# Median wall time of a command, in ms, over RUNS runs (posix_spawn, output discarded).
time_command() {
python3 - "$RUNS" "$@" <<'PY'
import os, sys, time, statistics
runs, argv = int(sys.argv[1]), sys.argv[2:]
devnull = os.open(os.devnull, os.O_WRONLY)
def once():
    t = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
    _, status = os.waitpid(pid, 0)
    if status != 0: sys.exit(f"{argv} exited with {status}")
    return (time.perf_counter() - t) * 1000
for _ in range(5): once()
times = sorted(once() for _ in range(runs))
print(f"{statistics.median(times):.2f} {times[int(len(times) * 0.9)]:.2f}")
PY
}
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }

section_startup() {
  echo; echo "== start-up: median of $RUNS runs (ms), ceiling in the same run"
  read -r hello_p _ < <(time_command "$WORK/hello-print")
  read -r hello_f hello_f90 < <(time_command "$WORK/hello-foundation")
  read -r version version90 < <(time_command "$BIN/keywarden" --version)
  read -r full full90 < <(time_command "$BIN/keywarden-cli" --version)
  read -r handed handed90 < <(time_command "$BIN/keywarden" storage --help)
  read -r handed_full _ < <(time_command "$BIN/keywarden-cli" storage --help)
  printf "  %-52s %7s ms (p90 %s)\n" "hello-world, print only" "$hello_p" "-" "hello-world, Foundation + environment (ceiling)" "$hello_f" "$hello_f90" \
    "keywarden --version (the launcher)" "$version" "$version90" "keywarden-cli --version (the full command line)" "$full" "$full90" \
    "keywarden storage --help (launcher, then keywarden-cli)" "$handed" "$handed90" "keywarden-cli storage --help (directly)" "$handed_full" "-"
  echo "  ratio keywarden --version / ceiling: $(ratio "$version" "$hello_f")  (target ≤ 1.5); keywarden-cli --version / ceiling: $(ratio "$full" "$hello_f")"
}

section_run() {
  echo; echo "== run and export through the agent: median of $RUNS runs (ms)"
  start_agent
  read -r truth _ < <(time_command /bin/true)
  # Without the keyfile in the environment, so these go through the agent; set
  # for the timing process itself (a /usr/bin/env in front would be timed too).
  read -r run run90 < <(KEYWARDEN_KEYFILE= time_command "$BIN/keywarden" run --scope bench -- /bin/true)
  read -r run_full run_full90 < <(KEYWARDEN_KEYFILE= time_command "$BIN/keywarden-cli" run --scope bench -- /bin/true)
  read -r export export90 < <(KEYWARDEN_KEYFILE= time_command "$BIN/keywarden" export --scope bench)
  printf "  %-52s %7s ms (p90 %s)\n" "/bin/true alone" "$truth" "-" "keywarden run --scope bench -- true (the launcher)" "$run" "$run90" \
    "keywarden-cli run --scope bench -- true" "$run_full" "$run_full90" "keywarden export --scope bench" "$export" "$export90"
  echo "  run median: $run ms  (target ≤ 10 ms)"
  stop_agent
}

section_agent() {
  echo; echo "== agent key read vs nginx: $CONNECTIONS keep-alive connections, $SECONDS_PER_RUN s each, one load generator"
  start_agent
  local path="/v1/keys/anthropic?scope=bench"
  local size; size="$(curl -s --unix-socket "$KEYWARDEN_SOCKET" "http://agent$path" | wc -c)"
  mkdir -p "$WORK/nginx"
  python3 - "$WORK/nginx" "$size" <<'PY'
import sys
root, size = sys.argv[1], int(sys.argv[2])
body = ('{"value":"' + "x" * max(0, size - 12) + '"}')[:size]
open(f"{root}/nginx.conf", "w").write(f"""
worker_processes 1; daemon off; pid {root}/nginx.pid; error_log {root}/error.log crit;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 100000000; client_body_temp_path {root}; proxy_temp_path {root};
  fastcgi_temp_path {root}; uwsgi_temp_path {root}; scgi_temp_path {root};
  server {{ listen unix:{root}/nginx.sock; default_type application/json;
    location / {{ return 200 '{body}'; }} }} }}
""")
PY
  "$NGINX" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" 2>/dev/null & local nginx_pid=$!; PIDS+=("$nginx_pid")
  for _ in $(seq 100); do [ -S "$WORK/nginx/nginx.sock" ] && break; sleep 0.05; done
  local agent nginx   # each with a 1 s warm-up that is not counted
  agent="$("$WORK/loadgen" -c "$CONNECTIONS" -d "$SECONDS_PER_RUN" -w 1 "unix:$KEYWARDEN_SOCKET" "$path")"
  nginx="$("$WORK/loadgen" -c "$CONNECTIONS" -d "$SECONDS_PER_RUN" -w 1 "unix:$WORK/nginx/nginx.sock" "$path")"
  echo "  body: $size bytes"
  echo "  nginx (ceiling): $nginx"
  echo "  agent:           $agent"
  local a n; a="$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$agent")"; n="$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$nginx")"
  echo "  ratio agent / nginx: $(ratio "$a" "$n")  (target ≥ 0.5, agent p99 ≤ 2 ms)"
  echo "  agent peak memory: $(grep VmHWM /proc/$AGENT_PID/status | awk '{print $2, $3}')"
  kill "$nginx_pid" 2>/dev/null || true
  stop_agent
}

section_memory() {
  echo; echo "== agent memory holding 10,000 values"
  local home="$WORK/memory"
  KEYWARDEN_HOME="$home" "$BIN/keywarden" init --keyfile "$WORK/memory.key" --scope bench >/dev/null
  python3 - > "$WORK/10k.env" <<'PY'
import random
r = random.Random(11)
for i in range(10000):
    print(f"VALUE_{i:05d}=" + "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(64)))
PY
  KEYWARDEN_HOME="$home" KEYWARDEN_KEYFILE="$WORK/memory.key" "$BIN/keywarden" import "$WORK/10k.env" --scope bench >/dev/null
  KEYWARDEN_HOME="$home" KEYWARDEN_KEYFILE="$WORK/memory.key" KEYWARDEN_SOCKET="$WORK/memory.sock" KEYWARDEN_LOG_LEVEL=warning \
    "$BIN/keywarden" serve 2>/dev/null & local pid=$!; PIDS+=("$pid")
  for _ in $(seq 200); do [ -S "$WORK/memory.sock" ] && break; sleep 0.05; done; sleep 0.2
  local idle; idle="$(grep VmRSS /proc/$pid/status | awk '{print $2}')"
  for _ in 1 2 3; do
    KEYWARDEN_HOME="$home" KEYWARDEN_KEYFILE= KEYWARDEN_SOCKET="$WORK/memory.sock" "$BIN/keywarden" export --scope bench > "$WORK/10k.out"
  done
  local served; served="$(grep -c '^VALUE_' "$WORK/10k.out")"
  local right_after; right_after="$(grep VmRSS /proc/$pid/status | awk '{print $2}')"
  # The agent hands heap pages freed after a large answer back within 1 s (FreedMemory).
  sleep 1.5
  echo "  values in the vault: 10000; served per export: $served (3 exports through the agent)"
  echo "  agent RSS idle: $((idle / 1024)) MiB; right after the exports: $((right_after / 1024)) MiB; settled (1.5 s later): $(( $(grep VmRSS /proc/$pid/status | awk '{print $2}') / 1024 )) MiB; peak (VmHWM): $(( $(grep VmHWM /proc/$pid/status | awk '{print $2}') / 1024 )) MiB  (target ≤ 40 MiB)"
  kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
}

section_gateway() {
  local rounds="${ROUNDS:-2}" g="$WORK/gateway"
  local rate="${GATEWAY_RATE:-5000}"
  echo; echo "== gateway vs direct to the mock, and nginx as a reverse proxy (the ceiling): $CONNECTIONS keep-alive connections, $SECONDS_PER_RUN s each (+1 s warm-up), $rounds rounds interleaved, medians"
  mkdir -p "$g"
  # Its own vault (scope bench, one anthropic key of fault-free letters: the mock reads words in keys) and agent.
  local -x KEYWARDEN_HOME="$g/vault" KEYWARDEN_KEYFILE="$g/vault.key" KEYWARDEN_SOCKET="$g/run/agent.sock"
  "$BIN/keywarden" init --keyfile "$KEYWARDEN_KEYFILE" --scope bench >/dev/null
  "$BIN/keywarden-mock" --bench --port 0 >"$g/mock.out" 2>&1 & local mock_pid=$!; PIDS+=("$mock_pid")
  local mock_port=""
  for _ in $(seq 200); do
    mock_port="$(sed -nE 's|^Mock providers on http://127\.0\.0\.1:([0-9]+).*|\1|p' "$g/mock.out" | head -1)"
    [ -n "$mock_port" ] && break; sleep 0.05
  done
  [ -n "$mock_port" ] || { echo "bench: the mock did not start:" >&2; cat "$g/mock.out" >&2; exit 1; }
  "$BIN/keywarden" provider set anthropic --base-url "http://127.0.0.1:$mock_port/anthropic" >/dev/null
  local key; key="sk-ant-api03-$(printf 'A%.0s' $(seq 93))AA"
  printf '%s\n' "$key" | "$BIN/keywarden" key add anthropic --scope bench >/dev/null
  KEYWARDEN_LOG_LEVEL=warning "$BIN/keywarden" serve --gateway 127.0.0.1:0 2>"$g/agent.log" & local agent_pid=$!; PIDS+=("$agent_pid")
  local gateway=""
  for _ in $(seq 200); do
    gateway="$(curl -sf --unix-socket "$KEYWARDEN_SOCKET" http://agent/v1/health 2>/dev/null | sed -nE 's|.*"gateway" *: *"http://([0-9.]+:[0-9]+)".*|\1|p' || true)"
    [ -n "$gateway" ] && break; sleep 0.05
  done
  [ -n "$gateway" ] || { echo "bench: the agent's gateway did not start:" >&2; cat "$g/agent.log" >&2; exit 1; }
  # nginx as the same kind of proxy: keep-alive to the mock, the key added, answers streamed (no buffering).
  mkdir -p "$g/nginx"
  cat >"$g/nginx/nginx.conf" <<NGINX
worker_processes 1; daemon off; pid $g/nginx/nginx.pid; error_log $g/nginx/error.log crit;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 100000000;
  client_body_temp_path $g/nginx/body; proxy_temp_path $g/nginx/proxy; fastcgi_temp_path $g/nginx/fastcgi;
  uwsgi_temp_path $g/nginx/uwsgi; scgi_temp_path $g/nginx/scgi;
  upstream mock { server 127.0.0.1:$mock_port; keepalive 64; keepalive_requests 100000000; }
  server {
    listen 127.0.0.1:0;
    location / {
      proxy_pass http://mock; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header x-api-key "$key"; proxy_buffering off; proxy_request_buffering off;
    }
  }
}
NGINX
  # nginx cannot listen on port 0 and say which port it got: find a free one first.
  local nginx_port; nginx_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  sed -i "s/listen 127.0.0.1:0;/listen 127.0.0.1:$nginx_port;/" "$g/nginx/nginx.conf"
  "$NGINX" -c "$g/nginx/nginx.conf" -p "$g/nginx" 2>/dev/null & local nginx_pid=$!; PIDS+=("$nginx_pid")
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && break; sleep 0.05; done
  local proxy="127.0.0.1:$nginx_port"
  local token; token="$("$BIN/keywarden" token create bench --scope bench --provider anthropic 2>/dev/null)"
  [[ "$token" == kwt_* ]] || { echo "bench: no token" >&2; exit 1; }
  local direct="127.0.0.1:$mock_port" path="/anthropic/v1/messages"
  printf '%s' '{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"Say something about keys."}]}' >"$g/json.body"
  printf '%s' '{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Say something about keys."}]}' >"$g/sse.body"
  # A check first: both ways answer 200 (a wrong setup would otherwise measure error answers).
  local side status
  for side in "$direct $key" "$gateway $token" "$proxy -"; do
    set -- $side
    status="$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$1$path" -H "x-api-key: $2" -H 'anthropic-version: 2023-06-01' \
      -H 'content-type: application/json' --data-binary @"$g/json.body")"
    [ "$status" = 200 ] || { echo "bench: POST http://$1$path answered $status" >&2; cat "$g/agent.log" >&2; exit 1; }
  done
  local ticks; ticks="$(getconf CLK_TCK)"
  cpu_ticks() { awk '{print $14 + $15}' "/proc/$agent_pid/stat"; }
  # load WORKLOAD SIDE CONNECTIONS [RATE]: one run (closed loop, or RATE req/s offered), its line appended to
  # $g/WORKLOAD.SIDE with the agent's CPU ticks during it.
  load() {
    local workload="$1" side="$2" connections="$3" target secret before after line offered=()
    case "$side" in
      direct) target="$direct" secret="$key" ;;
      gateway) target="$gateway" secret="$token" ;;
      nginx) target="$proxy" secret="-" ;;
    esac
    [ -n "${4:-}" ] && offered=(-R "$4")
    before="$(cpu_ticks)"
    line="$("$WORK/loadgen" -c "$connections" -d "$SECONDS_PER_RUN" -w 1 "${offered[@]}" --ttfb -X POST -H "x-api-key: $secret" \
      -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' -d @"$g/${workload%%-*}.body" "$target" "$path")"
    after="$(cpu_ticks)"
    echo "$line agent_cpu_ticks=$((after - before))" >>"$g/$workload.$side"
    printf "  %-9s %-8s %s\n" "$workload" "$side" "$line"
  }
  local round workload
  local side
  for workload in json sse json-rate; do
    for round in $(seq "$rounds"); do
      for side in direct gateway nginx; do
        if [ "$workload" = json-rate ]; then load "$workload" "$side" "$CONNECTIONS" "$rate"; else load "$workload" "$side" "$CONNECTIONS"; fi
      done
    done
  done
  load json-1c direct 1; load json-1c gateway 1; load json-1c nginx 1
  python3 - "$g" "$ticks" "$(grep VmHWM "/proc/$agent_pid/status" | awk '{print $2}')" "$rounds" "$rate" <<'PY'
import statistics, sys
folder, ticks, hwm_kib, rounds, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def runs(name):
    return [dict(f.split("=", 1) for f in line.split()) for line in open(f"{folder}/{name}")]
def med(rs, field):
    return statistics.median(float(r[field]) for r in rs)
def verdict(ok):
    return "PASS" if ok else "MISS"
sides = ("direct", "gateway", "nginx")
bad = [f"{n}.{s}" for n in ("json", "sse", "json-rate", "json-1c") for s in sides
       for r in runs(f"{n}.{s}") if int(r["non2xx"]) or int(r["errors"]) or not int(r["ok"])]
# An open-loop run that did not carry its offered load measured something else.
bad += [f"json-rate.{s} ({float(r['rps']):.0f} of {rate} req/s)" for s in sides for r in runs(f"json-rate.{s}") if float(r["rps"]) < 0.95 * float(rate)]
d, w, n = (runs(f"json.{s}") for s in sides)
sd, sw, sn = (runs(f"sse.{s}") for s in sides)
rd, rw, rn = (runs(f"json-rate.{s}") for s in sides)
od, ow, on = (runs(f"json-1c.{s}") for s in sides)
print(f"  medians of {rounds} runs each (ms):")
fmt = "    {:<34} rps {:>7.0f}  p50 {:6.3f}  p99 {:6.3f}{}"
for label, rs, ttfb in (("JSON direct", d, False), ("JSON gateway", w, False), ("JSON nginx proxy", n, False),
                        (f"JSON at {rate}/s direct", rd, False), (f"JSON at {rate}/s gateway", rw, False), (f"JSON at {rate}/s nginx proxy", rn, False),
                        ("SSE direct", sd, True), ("SSE gateway", sw, True), ("SSE nginx proxy", sn, True),
                        ("JSON 1 connection direct", od, False), ("JSON 1 connection gateway", ow, False), ("JSON 1 connection nginx proxy", on, False)):
    extra = f"  TTFB p50 {med(rs, 'ttfb_p50_ms'):6.3f}  p99 {med(rs, 'ttfb_p99_ms'):6.3f}" if ttfb else ""
    print(fmt.format(label, med(rs, "rps"), med(rs, "p50_ms"), med(rs, "p99_ms"), extra))
def added(proxied, straight, field="p50_ms"):
    return med(proxied, field) - med(straight, field)
ra50, ra99 = added(rw, rd), added(rw, rd, "p99_ms")
print(f"  added p50/p99 at {rate} req/s offered, {rd[0]['connections']} connections: {ra50:.3f} / {ra99:.3f} ms"
      f"  (target ≤0.2/≤1 ms)  {verdict(ra50 <= 0.2 and ra99 <= 1)};"
      f" nginx proxy {added(rn, rd):.3f} / {added(rn, rd, 'p99_ms'):.3f} ms")
ratio, ceiling = med(w, "rps") / med(d, "rps"), med(n, "rps") / med(d, "rps")
print(f"  throughput ratio gateway / direct: {ratio:.2f}  (target ≥0.5)  {verdict(ratio >= 0.5)};"
      f" nginx proxy / direct {ceiling:.2f} (the ceiling); gateway / nginx proxy {ratio / ceiling:.2f}")
print(f"  added p50/p99 under the closed loop (mostly the queue: connections ÷ throughput): {added(w, d):.3f} / {added(w, d, 'p99_ms'):.3f} ms;"
      f" nginx proxy {added(n, d):.3f} / {added(n, d, 'p99_ms'):.3f} ms  (informative)")
t50, t99 = added(sw, sd, "ttfb_p50_ms"), added(sw, sd, "ttfb_p99_ms")
print(f"  SSE added TTFB p50/p99: {t50:.3f} / {t99:.3f} ms  (target ≤1 ms)  {verdict(t50 <= 1 and t99 <= 1)};"
      f" nginx proxy {added(sn, sd, 'ttfb_p50_ms'):.3f} / {added(sn, sd, 'ttfb_p99_ms'):.3f} ms")
print(f"  SSE added full-stream p50/p99: {added(sw, sd):.3f} / {added(sw, sd, 'p99_ms'):.3f} ms;"
      f" stream throughput ratio {med(sw, 'rps') / med(sd, 'rps'):.2f}  (informative)")
print(f"  1 connection, added p50/p99 (no queueing): {added(ow, od):.3f} / {added(ow, od, 'p99_ms'):.3f} ms;"
      f" nginx proxy {added(on, od):.3f} / {added(on, od, 'p99_ms'):.3f} ms  (informative)")
def cpu(rs):  # the agent's utime+stime over a run (warm-up included) per answer (warm-up included)
    return statistics.median(int(r["agent_cpu_ticks"]) * 1e6 / ticks / max(1, int(r["answers"])) for r in rs)
print(f"  gateway CPU µs/req: JSON {cpu(w):.0f}, SSE stream {cpu(sw):.0f}, JSON 1 connection {cpu(ow):.0f}"
      f"  (agent utime+stime ÷ answers, clock tick {1000 / ticks:.0f} ms)")
print(f"  agent VmHWM: {hwm_kib / 1024:.1f} MiB")
if bad:
    print(f"  WARNING: runs with non-2xx answers, errors or no answer: {', '.join(bad)}")
PY
  kill -TERM "$agent_pid" "$mock_pid" "$nginx_pid" 2>/dev/null || true; wait "$agent_pid" "$mock_pid" "$nginx_pid" 2>/dev/null || true
}

section_validate() {
  echo; echo "== validate 1,000 keys vs the host's keep-alive ceiling"
  KEYWARDEN_BIN="$BIN" scripts/bench-validate.sh 1000 64
}

section_storage() {
  echo; echo "== storage: one vault on SQLite and on PostgreSQL, through the agent"
  # A folder of its own: the server runs as another user, who cannot enter $WORK (0700).
  local pg; pg="$(mktemp -d /tmp/keywarden-pg-bench.XXXXXX)"
  local exports; exports="$(scripts/postgres-test-cluster.sh start "$pg")" || { echo "  (no PostgreSQL: skipped)"; rm -rf "$pg"; return; }
  local pg_url; pg_url="$(eval "$exports"; echo "$KEYWARDEN_TEST_POSTGRES_URL")"
  # The test server trades durability for speed; a fair comparison with
  # SQLite's synchronous=FULL wants every commit on disk.
  psql -X -q "$pg_url" -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = on" \
    -c "ALTER SYSTEM SET full_page_writes = on" -c "SELECT pg_reload_conf()" >/dev/null
  psql -X -q "$pg_url" -c "CREATE DATABASE bench" >/dev/null
  local body="$WORK/config-set.json"
  # The value travels as base64 on the agent's API ("x").
  echo '{"scope":"bench","name":"BENCH_WRITE","value":"eA==","secret":false}' > "$body"
  local backend sqlite_reads sqlite_writes postgres_reads postgres_writes
  for backend in sqlite postgres; do
    local home="$WORK/storage-$backend" key="$WORK/storage-$backend.key"
    local -a env=(KEYWARDEN_HOME="$home" KEYWARDEN_KEYFILE="$key" KEYWARDEN_SOCKET="$WORK/run-$backend/agent.sock")
    [ "$backend" = postgres ] && env+=(KEYWARDEN_DATABASE_URL="${pg_url%/postgres}/bench")
    env "${env[@]}" "$BIN/keywarden" init --keyfile "$key" --scope bench >/dev/null
    python3 -c 'import random; r=random.Random(7); print("sk-ant-api03-" + "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(93)) + "AA")' \
      | env "${env[@]}" "$BIN/keywarden" key add anthropic --scope bench >/dev/null
    env "${env[@]}" KEYWARDEN_LOG_LEVEL=warning "$BIN/keywarden" serve --rotation-interval off 2>"$WORK/agent-$backend.log" & local pid=$!; PIDS+=("$pid")
    local socket="$WORK/run-$backend/agent.sock"
    for _ in $(seq 200); do curl -sf --unix-socket "$socket" http://agent/v1/health >/dev/null 2>&1 && break; sleep 0.05; done
    local reads writes
    reads="$("$WORK/loadgen" -c "$CONNECTIONS" -d "$SECONDS_PER_RUN" -w 1 "unix:$socket" "/v1/keys/anthropic?scope=bench")"
    writes="$("$WORK/loadgen" -c 4 -d "$SECONDS_PER_RUN" -w 1 -X POST -H 'content-type: application/json' -d "@$body" "unix:$socket" "/v1/ops/config.set")"
    grep -q ' non2xx=0 ' <<<"$writes" || { echo "bench: config.set did not answer 2xx: $writes" >&2; return 1; }
    echo "  $backend reads ($CONNECTIONS connections):  $reads"
    echo "  $backend writes (4 connections):  $writes"
    printf -v "${backend}_reads" '%s' "$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$reads")"
    printf -v "${backend}_writes" '%s' "$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$writes")"
    kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  done
  echo "  reads  postgres / sqlite: $(ratio "$postgres_reads" "$sqlite_reads")  (both from the agent's cache: expected ≈ 1)"
  echo "  writes postgres / sqlite: $(ratio "$postgres_writes" "$sqlite_writes")"
  scripts/postgres-test-cluster.sh stop "$pg" >/dev/null 2>&1 || true
}

for section in "${SECTIONS[@]}"; do
  case "$section" in
    agent|startup|run|validate|memory|gateway|storage) "section_$section" ;;
    *) echo "bench: unknown section '$section' (agent, startup, run, validate, memory, gateway, storage)" >&2; exit 64 ;;
  esac
done
