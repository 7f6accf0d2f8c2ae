#!/usr/bin/env bash
# Installs and builds what tests/tabs needs; idempotent, and quick when everything is there
# (run.py calls it first unless --no-setup).
#   - Debian's Chromium at /usr/bin/chromium (apt; never a browser download through Playwright)
#   - node_modules here from package-lock.json: playwright-core (drives Chromium), esbuild
#   - clients/js: node_modules from its package-lock.json, then `npm run build` (dist/)
#   - build/tabs.js and build/worker.js: the test page and the SharedWorker, bundled with the
#     centrifuge SDK from clients/js/node_modules (build.mjs)
# The steps themselves are in tests/lib/setup-common.sh, shared with tests/hub and tests/interop.
set -euo pipefail
cd "$(dirname "$0")"

SETUP_NAME=tabs
. ../lib/setup-common.sh

ensure_chromium
ensure_node_modules
(cd ../../clients/js && ensure_node_modules && npm run --silent build)
node build.mjs
log "node $(node --version): playwright-core $(node -p "require('playwright-core/package.json').version"), centrifuge $(node -p "JSON.parse(require('fs').readFileSync('../../clients/js/node_modules/centrifuge/package.json')).version")"
log "done"
