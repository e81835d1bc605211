#!/usr/bin/env bash
# Installs what building and testing Keywarden needs, only where missing:
# libsodium-dev (+ pkg-config) for the crypto, sqlite3 for the tests that
# tamper with a vault as a user with the file would, python-dotenv for the
# tests that read exported files back with the real reader (and, with
# --for-tests, Ruby dotenv and godotenv), PostgreSQL and
# openssl for the throwaway server the PostgreSQL storage tests start.
set -euo pipefail

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi
command -v swift >/dev/null 2>&1 || { echo "setup: Swift 6 is required (https://swift.org/install)" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
pkg-config --exists libsodium 2>/dev/null || missing+=(libsodium-dev pkg-config)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ -e /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
# systemd-analyze checks the README's systemd units (tests only; no systemd needs to run).
# The PostgreSQL storage tests start a throwaway server of their own
# (scripts/postgres-test-cluster.sh: initdb, pg_ctl, and openssl for its TLS
# certificates). Debian keeps initdb off PATH, in /usr/lib/postgresql/N/bin.
if [ "${1:-}" = "--for-tests" ] && [ "$(uname)" = "Linux" ]; then
  command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
  if ! command -v initdb >/dev/null 2>&1 && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    missing+=(postgresql)
  fi
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  # More real .env readers: Ruby dotenv (Rails) and godotenv, the latter built
  # offline in GOPATH mode from Debian's /usr/share/gocode (no module proxy);
  # `script` gives `run --mask` a terminal in its tests.
  ruby -e 'require "dotenv/parser"' >/dev/null 2>&1 || missing+=(ruby-dotenv)
  command -v go >/dev/null 2>&1 || missing+=(golang-go)
  [ -d /usr/share/gocode/src/github.com/joho/godotenv ] || missing+=(golang-github-joho-godotenv-dev)
  command -v script >/dev/null 2>&1 || missing+=(bsdutils)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine may have no package lists yet: update only when needed.
    $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || {
      $SUDO apt-get update -qq >/dev/null
      $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    }
  elif command -v brew >/dev/null 2>&1; then
    brew install libsodium pkg-config sqlite
  else
    echo "setup: please install libsodium (dev headers), pkg-config and sqlite3" >&2
    exit 1
  fi
fi

if [ "${1:-}" = "--for-tests" ]; then
  if ! python3 -c 'import dotenv' >/dev/null 2>&1; then
    echo "setup: installing python-dotenv (a real .env reader the tests compare against)"
    python3 -m pip install --quiet python-dotenv
  fi
fi
