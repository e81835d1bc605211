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
#
# Environment: CONNECTIONS (32), DURATION (seconds per load run, 10), RUNS (start-up repetitions, 200),
# BENCH_BIN (a folder of already built binaries to measure instead of building).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
SECTIONS=("$@"); [ ${#SECTIONS[@]} -gt 0 ] || SECTIONS=(startup run agent memory validate)
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
  build_release keywarden keywarden-mock
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
  printf "  %-52s %7s ms (p90 %s)\n" "hello-world, print only" "$hello_p" "-" "hello-world, Foundation + environment (ceiling)" "$hello_f" "$hello_f90" "keywarden --version" "$version" "$version90"
  echo "  ratio keywarden --version / ceiling: $(ratio "$version" "$hello_f")  (target ≤ 1.5)"
}

section_run() {
  echo; echo "== run and export through the agent: median of $RUNS runs (ms)"
  start_agent
  read -r truth _ < <(time_command /bin/true)
  read -r run run90 < <(env KEYWARDEN_KEYFILE= "$BIN/keywarden" --version >/dev/null; time_command /usr/bin/env KEYWARDEN_KEYFILE= "$BIN/keywarden" run --scope bench -- /bin/true)
  read -r export export90 < <(time_command /usr/bin/env KEYWARDEN_KEYFILE= "$BIN/keywarden" export --scope bench)
  printf "  %-52s %7s ms (p90 %s)\n" "/bin/true alone" "$truth" "-" "keywarden run --scope bench -- true" "$run" "$run90" "keywarden export --scope bench" "$export" "$export90"
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

section_validate() {
  echo; echo "== validate 1,000 keys vs the host's keep-alive ceiling"
  KEYWARDEN_BIN="$BIN" scripts/bench-validate.sh 1000 64
}

for section in "${SECTIONS[@]}"; do
  case "$section" in
    agent|startup|run|validate|memory) "section_$section" ;;
    *) echo "bench: unknown section '$section' (agent, startup, run, validate, memory)" >&2; exit 64 ;;
  esac
done
