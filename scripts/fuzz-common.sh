# Shared by scripts/fuzz-smoke and scripts/fuzz-long: installs cargo-fuzz if missing and
# builds the fuzz targets. Sourced, not run.
#
# FUZZ_SANITIZER=none (the default) builds with plain stable flags: libFuzzer's coverage
# instrumentation (-Cpasses=sancov-module), debug assertions and overflow checks.
# FUZZ_SANITIZER=address adds AddressSanitizer, which needs -Zsanitizer: on the stable
# toolchain that works only with RUSTC_BOOTSTRAP=1, which we then set for the build.
# Each sanitizer builds into its own target directory, so switching does not rebuild the other.

CARGO_FUZZ_VERSION=0.13.2
FUZZ_TARGETS=(frame_server frame_client handshake_request handshake_response close_payload
  utf8_split deflate_roundtrip http_client hub_commands hub_api_requests hub_tokens
  fossil_apply hub_config hub_proxy_replies pusher_messages)
FUZZ_SANITIZER="${FUZZ_SANITIZER:-none}"
FUZZ_TARGET_DIR="fuzz/target/sanitizer-$FUZZ_SANITIZER"

fuzz_install() {
  if cargo fuzz --version >/dev/null 2>&1; then
    return
  fi
  echo "==> installing cargo-fuzz $CARGO_FUZZ_VERSION (about a minute on 2 cores)"
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
}

# cargo fuzz with this script's sanitizer settings: fuzz_cargo SUBCOMMAND [ARGS...]
fuzz_cargo() {
  local sub="$1"
  shift
  if [[ "$FUZZ_SANITIZER" != none ]]; then
    RUSTC_BOOTSTRAP=1 cargo fuzz "$sub" -s "$FUZZ_SANITIZER" --target-dir "$FUZZ_TARGET_DIR" "$@"
  else
    cargo fuzz "$sub" -s none --target-dir "$FUZZ_TARGET_DIR" "$@"
  fi
}

# The dictionary for a target, if it has one.
fuzz_dict() {
  case "$1" in
    handshake_*) echo "fuzz/dictionaries/http.dict" ;;
    http_client) echo "fuzz/dictionaries/http_client.dict" ;;
    frame_* | deflate_roundtrip | utf8_split | close_payload) echo "fuzz/dictionaries/websocket.dict" ;;
    hub_commands) echo "fuzz/dictionaries/hub_json.dict" ;;
    hub_api_requests) echo "fuzz/dictionaries/hub_api.dict" ;;
    hub_tokens) echo "fuzz/dictionaries/hub_tokens.dict" ;;
    hub_config) echo "fuzz/dictionaries/hub_config.dict" ;;
    hub_proxy_replies) echo "fuzz/dictionaries/hub_json.dict" ;;
  esac
}
