#!/usr/bin/env bash
# Sets up and runs the whole test suite (unit, storage, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh --for-tests

# The end-to-end tests run the built binary, so build everything first.
swift build --build-tests
swift test --skip-build "$@"
