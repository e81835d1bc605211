#!/usr/bin/env bash
# Sourced by run.sh and the benchmarks: one definition of the release build,
# so they share one build (a different flag set would relink everything).
#   build_release PRODUCT...   builds each product; sets RELEASE_BIN
build_release() {
  local product
  for product in "$@"; do
    swift build -c release --static-swift-stdlib --product "$product" 2>&1 | grep -E "error:|warning: unable" || true
  done
  RELEASE_BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)"
  for product in "$@"; do
    [ -x "$RELEASE_BIN/$product" ] || { echo "build: $product failed to build" >&2; return 1; }
  done
}
