#!/usr/bin/env bash
# Installs what the hub's SDK conformance tests need; idempotent, and quick when everything is
# already there (run.py calls it first unless --no-setup).
#   - Debian's Chromium at /usr/bin/chromium (apt; never a browser download through Playwright)
#   - node_modules from package-lock.json: centrifuge (the SDK, with its browser bundles in
#     dist/), playwright-core (drives Chromium), ws (Node 20 has no global WebSocket)
#   - a Python venv at tests/hub/.venv from requirements.txt: centrifuge-python, cent, PyJWT
set -euo pipefail
cd "$(dirname "$0")"

log() { echo "[hub setup] $*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

apt_busy() { pgrep -x apt-get >/dev/null || pgrep -x apt >/dev/null || pgrep -x dpkg >/dev/null; }

# 1. Chromium. Another process (tests/interop/setup.sh, say) may be installing it right now:
#    /usr/bin/chromium can exist before the package is configured, so check dpkg's status and
#    wait for apt/dpkg to finish (the lock timeout below waits as well).
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
chromium_ok || { echo "[hub setup] chromium is not installed at /usr/bin/chromium" >&2; exit 1; }
log "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"

# 2. Node packages, exactly as locked; `npm ci` again only when the lock (or Node) changed.
command -v npm >/dev/null || { echo "[hub setup] npm is missing (Node.js is expected on the machine)" >&2; exit 1; }
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)-$(node --version)"
if [ "$(cat node_modules/.hub-stamp 2>/dev/null)" != "$lock_sum" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.hub-stamp
fi
log "node $(node --version): centrifuge $(node -p "JSON.parse(require('fs').readFileSync('node_modules/centrifuge/package.json')).version"), playwright-core $(node -p "require('playwright-core/package.json').version"), ws $(node -p "require('ws/package.json').version")"

# 3. Python venv, rebuilt when requirements.txt or the interpreter changed.
PY="${PYTHON:-python3}"
req_sum="$(sha256sum requirements.txt | cut -d' ' -f1)-$("$PY" -c 'import sys; print(sys.version.split()[0])')"
if [ "$(cat .venv/.hub-stamp 2>/dev/null)" != "$req_sum" ] || [ ! -x .venv/bin/python ]; then
  log "creating .venv and installing requirements.txt"
  rm -rf .venv
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  echo "$req_sum" > .venv/.hub-stamp
fi
log "python $(.venv/bin/python -c 'import sys; from importlib.metadata import version as v; print(sys.version.split()[0], "centrifuge-python", v("centrifuge-python"), "cent", v("cent"), "PyJWT", v("PyJWT"))')"
log "done"
