#!/usr/bin/env bash
# Installs what the hub's SDK conformance tests need; idempotent, and quick when everything is
# already there (run.py calls it first unless --no-setup).
#   - Debian's Chromium at /usr/bin/chromium (apt; never a browser download through Playwright)
#   - node_modules from package-lock.json: centrifuge (the SDK, with its browser bundles in
#     dist/), playwright-core (drives Chromium), ws (Node 20 has no global WebSocket)
#   - a Python venv at tests/hub/.venv from requirements.txt: centrifuge-python, cent, PyJWT
# The steps themselves are in tests/lib/setup-common.sh, shared with tests/interop/setup.sh.
set -euo pipefail
cd "$(dirname "$0")"

SETUP_NAME=hub
. ../lib/setup-common.sh

# 1. Chromium.
ensure_chromium

# 2. Node packages, exactly as locked.
ensure_node_modules
log "node $(node --version): centrifuge $(node -p "JSON.parse(require('fs').readFileSync('node_modules/centrifuge/package.json')).version"), playwright-core $(node -p "require('playwright-core/package.json').version"), ws $(node -p "require('ws/package.json').version")"

# 3. Python venv.
ensure_venv
log "python $(.venv/bin/python -c 'import sys; from importlib.metadata import version as v; print(sys.version.split()[0], "centrifuge-python", v("centrifuge-python"), "cent", v("cent"), "PyJWT", v("PyJWT"))')"
log "done"
