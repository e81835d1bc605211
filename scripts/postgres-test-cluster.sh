#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests of the PostgreSQL storage backend.
#
#   scripts/postgres-test-cluster.sh start DIR    # DIR: a fresh, empty folder the caller made
#   scripts/postgres-test-cluster.sh restart DIR  # fast shutdown and start, same port (tests simulate a restart)
#   scripts/postgres-test-cluster.sh pause DIR    # fast shutdown, folder kept (tests simulate an outage)
#   scripts/postgres-test-cluster.sh resume DIR   # start a paused server again, same port
#   scripts/postgres-test-cluster.sh stop DIR     # immediate shutdown, then removes DIR
#
# `start` prints shell `export` lines on stdout (and nothing else), for `eval`:
# KEYWARDEN_TEST_POSTGRES_URL (superuser kwtest over TCP on 127.0.0.1),
# KEYWARDEN_TEST_POSTGRES_TLS_URL (the same server as localhost, sslmode=verify-full
# against DIR/tls/ca.crt), KEYWARDEN_TEST_POSTGRES_DIR, KEYWARDEN_TEST_POSTGRES_RUNAS,
# KEYWARDEN_TEST_POSTGRES_PORT. The server also listens on a Unix socket in
# DIR/socket and logs to DIR/postgres.log.
#
# The binaries are initdb, pg_ctl and postgres from $KEYWARDEN_TEST_POSTGRES_BINDIR
# if set, else from PATH, else from the newest /usr/lib/postgresql/*/bin (Debian
# keeps them off PATH). `scripts/setup.sh --for-tests` installs them.
set -euo pipefail

me="postgres-test-cluster"
die() { echo "$me: $*" >&2; exit 1; }
usage() { echo "usage: $0 start|restart|pause|resume|stop DIR" >&2; exit 2; }

[ $# -eq 2 ] || usage
command="$1"
case "$command" in start|restart|pause|resume|stop) ;; *) usage ;; esac
[ -d "$2" ] || die "$2 is not a folder (make one first, e.g. with mktemp -d)"
# Absolute and without symlinks: the paths end up in the server's settings and
# in URLs that other processes, in other folders, use.
DIR="$(cd "$2" && pwd -P)"
# Written first by `start`, which takes only an empty folder; `stop` removes
# only a folder that has it (or an empty one): a wrong argument cannot chown
# or delete an unrelated folder.
MARKER="$DIR/.keywarden-postgres-test"

# Single quotes for the shell, which `eval` reads back exactly.
shell_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
# Single quotes for postgresql.conf, where a quote is doubled.
conf_quote() { printf "'%s'" "${1//\'/\'\'}"; }
# Percent-encoding for a path in a URL's query (mktemp's paths need none, but a
# TMPDIR may have spaces or `&`).
url_encode() {
  local LC_ALL=C s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in
      [A-Za-z0-9._~/-]) out+="$c" ;;
      *) out+="$(printf '%%%02X' "'$c")" ;;
    esac
  done
  printf '%s' "$out"
}

find_bindir() {
  local dir candidate
  if [ -n "${KEYWARDEN_TEST_POSTGRES_BINDIR:-}" ]; then
    dir="$KEYWARDEN_TEST_POSTGRES_BINDIR"
    for candidate in initdb pg_ctl postgres; do
      [ -x "$dir/$candidate" ] || die "no executable $candidate in $dir (KEYWARDEN_TEST_POSTGRES_BINDIR); unset it to use PATH or /usr/lib/postgresql/*/bin"
    done
    echo "$dir"
    return
  fi
  # One folder for all three, so that initdb, pg_ctl and the server are the
  # same version; a symlink on PATH (/usr/local/bin/initdb) leads to it.
  if candidate="$(command -v initdb 2>/dev/null)"; then
    dir="$(dirname "$(readlink -f "$candidate")")"
    if [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then echo "$dir"; return; fi
  fi
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
    echo "$dir"
    return
  fi
  die "no PostgreSQL server (initdb, pg_ctl, postgres) in PATH or /usr/lib/postgresql/*/bin; run scripts/setup.sh --for-tests (Debian: apt-get install postgresql) or set KEYWARDEN_TEST_POSTGRES_BINDIR"
}

# initdb and the server refuse to run as root: as root, they run as the
# `postgres` system user, or `nobody` where there is none.
RUNAS_IDS=""
choose_user() {
  if [ "$(id -u)" -ne 0 ]; then RUNAS="$(id -un)"; return; fi
  if id -u postgres >/dev/null 2>&1; then RUNAS=postgres; else RUNAS=nobody; fi
  set_user_ids
}
set_user_ids() {
  [ "$(id -u)" -eq 0 ] || return 0
  local uid gid
  uid="$(id -u "$RUNAS" 2>/dev/null)" || die "no user $RUNAS to run PostgreSQL as"
  gid="$(id -g "$RUNAS")"
  # A server running as root would defeat the point; never do that.
  [ "$uid" -ne 0 ] || die "refusing to run PostgreSQL as root ($RUNAS)"
  RUNAS_IDS="$uid:$gid"
}
as_server_user() {
  # In DIR: the caller's working folder (/root, say) may be closed to that user.
  if [ -z "$RUNAS_IDS" ]; then (cd "$DIR" && "$@"); return; fi
  if command -v setpriv >/dev/null 2>&1; then
    (cd "$DIR" && setpriv --reuid="${RUNAS_IDS%:*}" --regid="${RUNAS_IDS#*:}" --clear-groups -- "$@")
  elif command -v runuser >/dev/null 2>&1; then
    (cd "$DIR" && runuser -u "$RUNAS" -- "$@")
  else
    die "running as root, but neither setpriv nor runuser is there to run PostgreSQL as $RUNAS"
  fi
}

# A port nothing listens on now. Another program may still take it before the
# server binds it; `start` then tries another.
pick_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' && return
  fi
  echo $((20000 + RANDOM % 12000))
}

log_tail() { [ -f "$DIR/postgres.log" ] && tail -n 20 "$DIR/postgres.log" | sed 's/^/  | /' >&2 || true; }

start() {
  [ -z "$(ls -A "$DIR")" ] || die "$DIR is not empty; start needs a fresh folder (it becomes the server user's)"
  local bindir started_at
  started_at="$(date +%s.%N)"
  bindir="$(find_bindir)"
  choose_user
  # A Unix socket's path is at most 107 bytes (sun_path).
  [ ${#DIR} -le 80 ] || die "$DIR is too long for a Unix socket path inside it; use a shorter folder (mktemp -d /tmp/keywarden-pg.XXXXXX)"
  # restart and stop use the same user and binaries (the data folder is that version's).
  printf 'RUNAS=%s\nBINDIR=%s\n' "$RUNAS" "$bindir" >"$MARKER"
  if [ -n "$RUNAS_IDS" ]; then
    chown "$RUNAS_IDS" "$DIR" "$MARKER"
    as_server_user test -w "$DIR" || die "$RUNAS cannot write to $DIR (a folder above it is closed to that user); use one under /tmp"
  fi
  # Readable by all (the data folder itself stays 0700, as the server demands):
  # the server trusts every local connection anyway, and a test may run a
  # process as another user that needs the socket or ca.crt.
  chmod 755 "$DIR"
  as_server_user mkdir -m 755 "$DIR/socket" "$DIR/tls"

  # --locale=C: a locale from the environment may not be installed (initdb
  # then fails), and C sorts text by bytes, like SQLite's default collation.
  if ! as_server_user "$bindir/initdb" -D "$DIR/data" --auth=trust -U kwtest --encoding=UTF8 --locale=C \
      --no-sync >"$DIR/initdb.log" 2>&1; then
    sed 's/^/  | /' "$DIR/initdb.log" >&2
    die "initdb failed (output above, in $DIR/initdb.log)"
  fi

  # A CA the tests trust (sslrootcert) and a server certificate it signed for
  # both names the tests connect to: verify-full checks the chain and the name.
  # P-256: generated at once, unlike RSA keys.
  local tls="$DIR/tls" ext="$DIR/tls/server.ext"
  {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
      -subj "/CN=Keywarden test CA" -keyout "$tls/ca.key" -out "$tls/ca.crt" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj "/CN=localhost" -keyout "$tls/server.key" -out "$tls/server.csr"
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >"$ext"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
      -days 7 -extfile "$ext" -out "$tls/server.crt"
  } >"$DIR/openssl.log" 2>&1 || { sed 's/^/  | /' "$DIR/openssl.log" >&2; die "making the TLS certificates failed (output above)"; }
  rm -f "$tls/server.csr" "$ext" "$tls/ca.srl"
  # The server refuses a key that others can read; it must own it, too.
  chmod 600 "$tls/server.key" "$tls/ca.key"
  chmod 644 "$tls/ca.crt" "$tls/server.crt"
  [ -z "$RUNAS_IDS" ] || chown -R "$RUNAS_IDS" "$tls"

  # Trust on the socket and on loopback, with or without TLS (`host` is both):
  # nothing but the tests can reach this server.
  cat >"$DIR/data/pg_hba.conf" <<'HBA'
local all all              trust
host  all all 127.0.0.1/32 trust
HBA
  # Appended, so these win over initdb's defaults. No durability: the data dies
  # with the folder, and fsync on a busy two-core machine slows every test.
  # With a CA file the server asks for a client certificate but, under trust,
  # needs none (a test may add a `cert` line and sign one with ca.key). The
  # port is in a file of its own, which `start` rewrites when a port was taken.
  cat >>"$DIR/data/postgresql.conf" <<CONF

# scripts/postgres-test-cluster.sh: a throwaway server for the tests
listen_addresses = '127.0.0.1'
unix_socket_directories = $(conf_quote "$DIR/socket")
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
ssl = on
ssl_cert_file = $(conf_quote "$tls/server.crt")
ssl_key_file = $(conf_quote "$tls/server.key")
ssl_ca_file = $(conf_quote "$tls/ca.crt")
include = 'port.conf'
CONF
  [ -z "$RUNAS_IDS" ] || chown "$RUNAS_IDS" "$DIR/data/pg_hba.conf" "$DIR/data/postgresql.conf"

  local port attempt ok="" seen
  for attempt in 1 2 3 4 5; do
    port="$(pick_port)"
    seen=0
    [ ! -f "$DIR/postgres.log" ] || seen="$(wc -l <"$DIR/postgres.log")"
    as_server_user sh -c 'echo "port = $1" >"$2"' sh "$port" "$DIR/data/port.conf"
    # -w: returns once the server accepts connections. -l: the server's output
    # goes to the log, never to the caller's stdout (a pipe for `eval`).
    if as_server_user "$bindir/pg_ctl" -D "$DIR/data" -w -s -l "$DIR/postgres.log" start >&2; then
      ok=1
      break
    fi
    # Only a taken port is worth another try.
    tail -n +"$((seen + 1))" "$DIR/postgres.log" 2>/dev/null | grep -q 'could not bind\|Address already in use' || break
    echo "$me: port $port was taken; trying another" >&2
  done
  # The log's tail is the caller's to show (scripts/test.sh does).
  [ -n "$ok" ] || die "the server did not start (log: $DIR/postgres.log)"
  # pg_ctl -w saw the server ready; this also proves the TCP listener.
  if [ -x "$bindir/pg_isready" ] && ! "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U kwtest -d postgres -t 10; then
    die "the server started but does not answer on 127.0.0.1:$port (log: $DIR/postgres.log)"
  fi

  local version elapsed
  version="$("$bindir/postgres" --version 2>/dev/null | awk '{print $3}')"
  elapsed="$(awk -v a="$started_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
  echo "$me: PostgreSQL $version on 127.0.0.1:$port and $DIR/socket, as $RUNAS (started in ${elapsed} s)" >&2

  printf 'export KEYWARDEN_TEST_POSTGRES_URL=%s\n' "$(shell_quote "postgres://kwtest@127.0.0.1:$port/postgres")"
  printf 'export KEYWARDEN_TEST_POSTGRES_TLS_URL=%s\n' \
    "$(shell_quote "postgres://kwtest@localhost:$port/postgres?sslmode=verify-full&sslrootcert=$(url_encode "$tls/ca.crt")")"
  printf 'export KEYWARDEN_TEST_POSTGRES_DIR=%s\n' "$(shell_quote "$DIR")"
  printf 'export KEYWARDEN_TEST_POSTGRES_RUNAS=%s\n' "$(shell_quote "$RUNAS")"
  printf 'export KEYWARDEN_TEST_POSTGRES_PORT=%s\n' "$(shell_quote "$port")"
}

# The user and binaries of a folder `start` made.
load() {
  [ -f "$MARKER" ] || die "$DIR was not set up by '$0 start'"
  RUNAS="$(sed -n 's/^RUNAS=//p' "$MARKER")"
  [ -n "$RUNAS" ] || die "$MARKER names no user"
  set_user_ids
  BINDIR="$(sed -n 's/^BINDIR=//p' "$MARKER")"
  [ -x "$BINDIR/pg_ctl" ] || die "no pg_ctl in $BINDIR, where the server of $DIR came from"
}

restart() {
  load
  [ -f "$DIR/data/postmaster.pid" ] || die "no server is running in $DIR"
  # -m fast: clients are disconnected as by an administrator's restart; the
  # port is in the configuration, so it stays.
  if ! as_server_user "$BINDIR/pg_ctl" -D "$DIR/data" -m fast -w -s -l "$DIR/postgres.log" restart >&2; then
    log_tail
    die "restart failed (log: $DIR/postgres.log)"
  fi
}

pause() {
  load
  [ -f "$DIR/data/postmaster.pid" ] || die "no server is running in $DIR"
  as_server_user "$BINDIR/pg_ctl" -D "$DIR/data" -m fast -w -s stop >&2 || die "pause failed (log: $DIR/postgres.log)"
}

resume() {
  load
  [ -f "$DIR/data/postmaster.pid" ] && die "the server in $DIR is already running"
  if ! as_server_user "$BINDIR/pg_ctl" -D "$DIR/data" -w -s -l "$DIR/postgres.log" start >&2; then
    log_tail
    die "resume failed (log: $DIR/postgres.log)"
  fi
}

stop() {
  # Empty: `start` failed before it wrote anything (no PostgreSQL found, say).
  if [ -z "$(ls -A "$DIR")" ]; then rmdir "$DIR"; return; fi
  load
  local status=0
  # No pid file: the server never started or is already down; the folder goes anyway.
  if [ -f "$DIR/data/postmaster.pid" ]; then
    # -m immediate: nothing in it is worth a clean shutdown.
    as_server_user "$BINDIR/pg_ctl" -D "$DIR/data" -m immediate -w -s stop >&2 || {
      status=$?
      echo "$me: pg_ctl stop failed; removing $DIR anyway (a server without its folder shuts itself down within a minute)" >&2
    }
  fi
  rm -rf "$DIR"
  return "$status"
}

"$command"
