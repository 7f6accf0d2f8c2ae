#!/usr/bin/env bash
# Installs what tests/demo needs; idempotent, and quick when everything is already there
# (run.py calls it first unless --no-setup).
#   - Debian's Chromium at /usr/bin/chromium (apt; never a browser download through Playwright)
#   - node_modules from package-lock.json: playwright-core only (it drives Chromium). The pages
#     under test bring their own SDK (crates/duplex-cli/demo/vendor), served by the hub.
#   - a check that crates/duplex-cli/demo/vendor is what its tools/vendor.mjs builds from the
#     pinned packages and from clients/js as it is now (a change to clients/js that the demo's
#     copy lacks fails here, with the command that refreshes it)
# No Python venv: run.py uses the standard library only. The steps are in
# tests/lib/setup-common.sh, shared with the other browser harnesses.
set -euo pipefail
cd "$(dirname "$0")"

SETUP_NAME=demo
. ../lib/setup-common.sh

ensure_chromium
ensure_node_modules
(cd ../../crates/duplex-cli/demo/tools && SETUP_NAME=demo-vendor ensure_node_modules && node vendor.mjs --check)
log "node $(node --version): playwright-core $(node -p "require('playwright-core/package.json').version")"
log "done"
