#!/usr/bin/env bash
# Installs what the interop tests need; idempotent, and quick when everything is already there.
#   - Debian's Chromium at /usr/bin/chromium (apt; never a browser download through playwright)
#   - the openssl CLI (apt), to make the wss:// test certificates
#   - node_modules from package-lock.json (playwright-core, ws, optional bufferutil)
#   - a Python venv at tests/interop/.venv with requirements.txt (websockets)
# The steps themselves are in tests/lib/setup-common.sh, shared with tests/hub/setup.sh.
set -euo pipefail
cd "$(dirname "$0")"

SETUP_NAME=interop
. ../lib/setup-common.sh

# 1. Chromium.
ensure_chromium

# 1b. The openssl CLI: run.py makes a throwaway CA and server certificate with it for the wss://
#     pairs. Minimal Debian images have libssl but not the command.
command -v openssl >/dev/null || apt_install openssl
log "openssl: $(openssl version)"

# 2. Node packages, exactly as locked.
ensure_node_modules
log "node: $(node --version), ws $(node -p "require('ws/package.json').version"), playwright-core $(node -p "require('playwright-core/package.json').version")"

# 3. Python venv.
ensure_venv
log "python: $(.venv/bin/python -c 'import sys, websockets; print(sys.version.split()[0], "websockets", websockets.__version__)')"
log "done"
