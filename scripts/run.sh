#!/usr/bin/env bash
# Sets up and runs Keywarden on its default vault:
#   installs libsodium-dev if missing, builds, creates the default vault on
#   first run (a keyfile slot at ~/.config/keywarden/vault.key, or a passphrase
#   slot when KEYWARDEN_PASSPHRASE is set), shows its status and next steps, and
#   runs the agent (keywarden serve) until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

# The build's own progress ([n/N] Compiling …) is shown: the first build
# compiles every dependency (10-20 minutes on two cores), later ones take seconds.
if [ -x "$(swift build -c release --static-swift-stdlib --show-bin-path)/keywarden" ]; then
  echo "run: building keywarden (release; only what changed)…"
else
  echo "run: building keywarden (release). The first build compiles every dependency: 10-20 minutes on two cores; later builds take seconds."
fi
for product in keywarden-cli keywarden; do
  swift build -c release --static-swift-stdlib --product "$product" || { echo "run: the build failed (its errors are above)" >&2; exit 1; }
done
BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/keywarden"
[ -x "$BIN" ] || { echo "run: build failed" >&2; exit 1; }

CONFIG_DIR="${XDG_CONFIG_HOME:-$HOME/.config}/keywarden"
DEFAULT_KEYFILE="$CONFIG_DIR/vault.key"
VAULT_DIR="${KEYWARDEN_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/keywarden}"

if [ ! -e "$VAULT_DIR/vault.db" ]; then
  if [ -n "${KEYWARDEN_PASSPHRASE:-}" ]; then
    "$BIN" init --kdf "${KEYWARDEN_KDF:-moderate}"
  else
    # The keyfile lives apart from the vault, so a copy of the vault folder
    # alone does not open it.
    mkdir -p "$CONFIG_DIR" && chmod 700 "$CONFIG_DIR"
    "$BIN" init --keyfile "$DEFAULT_KEYFILE"
  fi
fi

if [ -z "${KEYWARDEN_PASSPHRASE:-}" ] && [ -z "${KEYWARDEN_KEYFILE:-}" ] && [ -e "$DEFAULT_KEYFILE" ]; then
  export KEYWARDEN_KEYFILE="$DEFAULT_KEYFILE"
fi
echo
"$BIN" status
cat <<NEXT

Keywarden is ready. To use it from this shell:
  export PATH="$(dirname "$BIN"):\$PATH"
  export KEYWARDEN_KEYFILE="${KEYWARDEN_KEYFILE:-$DEFAULT_KEYFILE}"
  keywarden key add anthropic --scope dev      # paste the key (never on the command line)
  keywarden key list
  keywarden audit
NEXT
if [ -n "${KEYWARDEN_NO_SERVE:-}" ]; then exit 0; fi
echo
echo "Starting the agent (Ctrl-C to stop); from another shell: keywarden export --scope dev"
exec "$BIN" serve
