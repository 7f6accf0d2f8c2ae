# What tests/interop/setup.sh and tests/hub/setup.sh both do, sourced by them (not run): Debian's
# Chromium from apt (never a browser download through Playwright), node_modules by `npm ci` when
# the lock changed, and a Python venv rebuilt when requirements.txt changed. One copy, so a fix to
# the apt waiting or to the stamps reaches both harnesses.
#
# The sourcing script sets SETUP_NAME first (its log prefix `[<name> setup]` and its stamp files
# `.<name>-stamp`) and runs from its own folder, where package-lock.json and requirements.txt are.

log() { echo "[$SETUP_NAME setup] $*"; }
die() { echo "[$SETUP_NAME setup] $*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

apt_busy() { pgrep -x apt-get >/dev/null || pgrep -x apt >/dev/null || pgrep -x dpkg >/dev/null; }

# apt-get install of one package; the lock timeout waits for another apt/dpkg to let go.
apt_install() {
  log "installing $1 with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=900 update -q
  $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -q "$1"
}

chromium_ok() {
  [ -x /usr/bin/chromium ] && [ "$(dpkg-query -W -f='${Status}' chromium 2>/dev/null)" = "install ok installed" ]
}

# Chromium at /usr/bin/chromium. The other harness's setup.sh (or a background `apt-get install
# chromium`) may be installing it right now: /usr/bin/chromium can exist before the package is
# configured, so check dpkg's status and wait for apt/dpkg to finish first.
ensure_chromium() {
  if ! chromium_ok; then
    local waited=0
    while apt_busy && [ "$waited" -lt 900 ]; do
      [ "$waited" -eq 0 ] && log "apt/dpkg is busy (another install?); waiting for it"
      sleep 5; waited=$((waited + 5))
    done
  fi
  chromium_ok || apt_install chromium
  chromium_ok || die "chromium is not installed at /usr/bin/chromium"
  log "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
}

# node_modules exactly as package-lock.json says: `npm ci` again only when the lock (or Node)
# changed since the stamp was written.
ensure_node_modules() {
  command -v npm >/dev/null || die "npm is missing (Node.js is expected on the machine)"
  local lock_sum
  lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)-$(node --version)"
  if [ "$(cat "node_modules/.$SETUP_NAME-stamp" 2>/dev/null)" != "$lock_sum" ]; then
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_sum" > "node_modules/.$SETUP_NAME-stamp"
  fi
}

# .venv from requirements.txt, rebuilt when requirements.txt or the interpreter ($PYTHON, default
# python3) changed since the stamp was written.
ensure_venv() {
  local py="${PYTHON:-python3}" req_sum
  req_sum="$(sha256sum requirements.txt | cut -d' ' -f1)-$("$py" -c 'import sys; print(sys.version.split()[0])')"
  if [ "$(cat ".venv/.$SETUP_NAME-stamp" 2>/dev/null)" != "$req_sum" ] || [ ! -x .venv/bin/python ]; then
    log "creating .venv and installing requirements.txt"
    rm -rf .venv
    "$py" -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
    echo "$req_sum" > ".venv/.$SETUP_NAME-stamp"
  fi
}
