#!/usr/bin/env bash
# Sets up and runs the whole test suite (unit, storage, end-to-end).
# Arguments go to `swift test` (e.g. --filter NAME) and then run it once.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh --for-tests

# The PostgreSQL storage tests need a server: a throwaway one, in a folder of
# its own, started before the build so that a machine that cannot run one
# fails at once. The trap stops it and removes the folder however the script
# ends (a failed test run, Ctrl-C), and keeps the exit status (it calls no
# `exit`). INT/TERM/HUP become an exit, so that the EXIT trap runs for them too.
pg_dir="$(mktemp -d /tmp/keywarden-pg.XXXXXX)"
# A second server for the fleet's tests alone, which stop and restart it to
# see agents ride out an outage: the tests beside them keep the first.
fleet_dir="$(mktemp -d /tmp/keywarden-pg-fleet.XXXXXX)"
stop_postgres() {
  scripts/postgres-test-cluster.sh stop "$pg_dir" || true
  scripts/postgres-test-cluster.sh stop "$fleet_dir" || true
  rm -rf "$pg_dir" "$fleet_dir"
}
trap stop_postgres EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
start_postgres() {  # DIR: prints the server's exports
  if ! scripts/postgres-test-cluster.sh start "$1"; then
    echo "test: the PostgreSQL test server did not start; the suite needs it (scripts/setup.sh --for-tests installs it)" >&2
    if [ -f "$1/postgres.log" ]; then
      echo "test: the end of $1/postgres.log:" >&2
      tail -n 30 "$1/postgres.log" >&2
    fi
    return 1
  fi
}
pg_exports="$(start_postgres "$pg_dir")" || exit 1
fleet_exports="$(start_postgres "$fleet_dir")" || exit 1
eval "$pg_exports"
# The fleet's server, under names of its own.
export KEYWARDEN_TEST_POSTGRES_FLEET_URL="$(eval "$fleet_exports"; echo "$KEYWARDEN_TEST_POSTGRES_URL")"
export KEYWARDEN_TEST_POSTGRES_FLEET_DIR="$fleet_dir"
# Tests that restart the server (to see clients reconnect) call this script.
export KEYWARDEN_TEST_POSTGRES_SCRIPT="$PWD/scripts/postgres-test-cluster.sh"

# The end-to-end tests run the built binary, so build everything first.
swift build --build-tests

# At most this many tests at once (Swift Testing runs every test at once
# otherwise): the suites start real servers, agents and timers, and a
# two-core machine running 300 of them together delays a 1.5 s time limit
# by seconds.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-6}"
if [ $# -gt 0 ]; then
  # Not exec: the trap above must still stop the PostgreSQL server.
  status=0
  swift test --skip-build "$@" || status=$?
  exit "$status"
fi
# Four processes: the end-to-end suites wait for the processes they start
# (CommandRunner blocks its thread), which in one process with the others
# would hold Swift's cooperative pool (two threads here) that the
# in-process servers, clients and timers need. The gateway's load test
# (1,000 concurrent streams from this process's own client) runs alone for
# the same reason. The agent's and gateway's in-process suites (1 s time
# limits) run apart from the storage suites, whose PostgreSQL cases block
# threads on the database's round trips.
# The agent's and gateway's in-process suites run one test at a time: their
# raw-socket clients block a thread of that pool while the server they wait
# for needs it (the gateway's slow path runs in Hummingbird's tasks); two such
# tests at once on two cores starved it until their 10 s receive timeouts.
status=0
SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=1 swift test --skip-build --filter KeywardenServerTests || status=$?
swift test --skip-build --skip EndToEndTests --skip KeywardenServerTests || status=$?
swift test --skip-build --filter EndToEndTests --skip GatewayLoadTests || status=$?
swift test --skip-build --filter GatewayLoadTests || status=$?
exit "$status"
