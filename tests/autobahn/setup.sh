#!/usr/bin/env bash
# Create tests/autobahn/.venv: a Python 2.7 virtualenv with the Autobahn testsuite (wstest).
# Idempotent: does nothing when .venv/bin/wstest already runs.
#
# Needs: pyenv with a 2.7.18 interpreter, python3 with pip, gcc (wsaccel and ujson compile),
# network access to PyPI.
set -euo pipefail
export PIP_ROOT_USER_ACTION=ignore

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
REQS="$HERE/requirements-py27.txt"
SUITE="autobahntestsuite==25.10.1"
VIRTUALENV_SPEC="virtualenv<20.22"   # the last virtualenv releases that can create 2.7 envs

log() { printf 'autobahn setup: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

wstest_works() {
    [ -x "$VENV/bin/wstest" ] && "$VENV/bin/wstest" --help >/dev/null 2>&1
}

if wstest_works; then
    log "$VENV/bin/wstest already works; nothing to do"
    exit 0
fi

# --- find the Python 2.7 interpreter --------------------------------------------------------
PY27="${AUTOBAHN_PY27:-}"
if [ -z "$PY27" ]; then
    command -v pyenv >/dev/null 2>&1 \
        || die "pyenv not found; the Autobahn testsuite needs Python 2.7.18 from pyenv (or set AUTOBAHN_PY27=/path/to/python2.7)"
    PREFIX="$(pyenv prefix 2.7.18 2>/dev/null)" \
        || die "pyenv has no Python 2.7.18 ('pyenv versions' does not list it). Install it with 'pyenv install 2.7.18' or set AUTOBAHN_PY27=/path/to/python2.7"
    PY27="$PREFIX/bin/python2.7"
fi
[ -x "$PY27" ] || die "Python 2.7 interpreter not found at $PY27"
"$PY27" -c 'import sys; assert sys.version_info[:2] == (2, 7)' 2>/dev/null \
    || die "$PY27 is not a working Python 2.7"
log "using Python 2.7 at $PY27"

command -v python3 >/dev/null 2>&1 || die "python3 not found (needed to run virtualenv)"
command -v gcc >/dev/null 2>&1 || log "warning: gcc not found; wsaccel/ujson may fail to build"

# --- create the virtualenv ------------------------------------------------------------------
# A leftover half-built .venv (interrupted run) is rebuilt from scratch.
if [ -e "$VENV" ]; then
    log "removing incomplete $VENV"
    rm -rf "$VENV"
fi

# virtualenv<20.22 goes into a throw-away directory, so the user's python3 is left untouched
# (a global 'pip install virtualenv<20.22' would downgrade a newer virtualenv).
BOOT="$(mktemp -d "${TMPDIR:-/tmp}/duplex-autobahn-boot.XXXXXX")"
trap 'rm -rf "$BOOT"' EXIT
log "installing $VIRTUALENV_SPEC into a temporary directory"
python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --target "$BOOT" "$VIRTUALENV_SPEC" \
    || die "could not install $VIRTUALENV_SPEC with python3 -m pip"

log "creating $VENV"
PYTHONPATH="$BOOT" python3 -m virtualenv --quiet --no-download -p "$PY27" "$VENV" \
    || die "virtualenv could not create a Python 2.7 environment at $VENV"

# --- install the suite ----------------------------------------------------------------------
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --no-python-version-warning)
log "installing pinned dependencies from $(basename "$REQS") (wsaccel/ujson compile; takes a while)"
"${PIP[@]}" install --quiet -r "$REQS" || die "installing $REQS failed"
log "installing $SUITE"
"${PIP[@]}" install --quiet --no-deps "$SUITE" || die "installing $SUITE failed"

# --- verify ---------------------------------------------------------------------------------
if ! wstest_works; then
    "$VENV/bin/wstest" --help >&2 || true
    die "wstest was installed but does not run"
fi
log "ok: $("$VENV/bin/python" -c 'import autobahntestsuite, autobahn; print("autobahntestsuite %s, autobahn %s" % (autobahntestsuite.__version__, autobahn.__version__))' 2>/dev/null || echo 'wstest installed')"
