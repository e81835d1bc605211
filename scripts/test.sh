#!/usr/bin/env bash
# Sets up and runs the whole test suite (unit, storage, end-to-end).
# Arguments go to `swift test` (e.g. --filter NAME) and then run it once.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh --for-tests

# The end-to-end tests run the built binary, so build everything first.
swift build --build-tests

# At most this many tests at once (Swift Testing runs every test at once
# otherwise): the suites start real servers, agents and timers, and a
# two-core machine running 300 of them together delays a 1.5 s time limit
# by seconds.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-6}"
if [ $# -gt 0 ]; then
  exec swift test --skip-build "$@"
fi
# Three processes: the end-to-end suites wait for the processes they start
# (CommandRunner blocks its thread), which in one process with the others
# would hold Swift's cooperative pool (two threads here) that the
# in-process servers, clients and timers need. The gateway's load test
# (1,000 concurrent streams from this process's own client) runs alone for
# the same reason.
status=0
swift test --skip-build --skip EndToEndTests || status=$?
swift test --skip-build --filter EndToEndTests --skip GatewayLoadTests || status=$?
swift test --skip-build --filter GatewayLoadTests || status=$?
exit "$status"
