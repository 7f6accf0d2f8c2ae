#!/usr/bin/env bash
# Installs what the interop tests need; idempotent, and quick when everything is already there.
#   - Debian's Chromium at /usr/bin/chromium (apt; never a browser download through playwright)
#   - the openssl CLI (apt), to make the wss:// test certificates
#   - node_modules from package-lock.json (playwright-core, ws, optional bufferutil)
#   - a Python venv at tests/interop/.venv with requirements.txt (websockets)
set -euo pipefail
cd "$(dirname "$0")"

log() { echo "[interop setup] $*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

apt_busy() { pgrep -x apt-get >/dev/null || pgrep -x apt >/dev/null || pgrep -x dpkg >/dev/null; }

# 1. Chromium. Another process (e.g. a background `apt-get install chromium`) may be installing it
#    right now: /usr/bin/chromium can exist before the package is configured, so check dpkg's
#    status and wait for apt/dpkg to finish (the lock timeout below waits as well).
chromium_ok() {
  [ -x /usr/bin/chromium ] && [ "$(dpkg-query -W -f='${Status}' chromium 2>/dev/null)" = "install ok installed" ]
}
if ! chromium_ok; then
  waited=0
  while apt_busy && [ "$waited" -lt 900 ]; do
    [ "$waited" -eq 0 ] && log "apt/dpkg is busy (another install?); waiting for it"
    sleep 5; waited=$((waited + 5))
  done
fi
if ! chromium_ok; then
  log "installing chromium with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=900 update -q
  $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -q chromium
fi
chromium_ok || { echo "[interop setup] chromium is not installed at /usr/bin/chromium" >&2; exit 1; }
log "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"

# 1b. The openssl CLI: run.py makes a throwaway CA and server certificate with it for the wss://
#     pairs. Minimal Debian images have libssl but not the command.
if ! command -v openssl >/dev/null; then
  log "installing openssl with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=900 update -q
  $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -q openssl
fi
log "openssl: $(openssl version)"

# 2. Node packages, exactly as locked. Re-run `npm ci` only when package-lock.json changed.
command -v npm >/dev/null || { echo "[interop setup] npm is missing (Node.js is expected on the machine)" >&2; exit 1; }
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)-$(node --version)"
if [ "$(cat node_modules/.interop-stamp 2>/dev/null)" != "$lock_sum" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.interop-stamp
fi
log "node: $(node --version), ws $(node -p "require('ws/package.json').version"), playwright-core $(node -p "require('playwright-core/package.json').version")"

# 3. Python venv. Rebuilt when requirements.txt or the interpreter changed.
PY="${PYTHON:-python3}"
req_sum="$(sha256sum requirements.txt | cut -d' ' -f1)-$("$PY" -c 'import sys; print(sys.version.split()[0])')"
if [ "$(cat .venv/.interop-stamp 2>/dev/null)" != "$req_sum" ] || [ ! -x .venv/bin/python ]; then
  log "creating .venv and installing requirements.txt"
  rm -rf .venv
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  echo "$req_sum" > .venv/.interop-stamp
fi
log "python: $(.venv/bin/python -c 'import sys, websockets; print(sys.version.split()[0], "websockets", websockets.__version__)')"
log "done"
