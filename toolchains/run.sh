#!/usr/bin/env bash
# Sets up Junction (packages, native build) and starts it on its embedded default: state in
# SQLite and mail in Maildir++ under a local data folder (./data), serving the web app on
# http://127.0.0.1:8080/. The first start creates the user "admin" with a one-time password
# in data/initial-password (mode 0600; it says so, never printing the password).
#   bash toolchains/run.sh                            # serve (Ctrl-C stops it)
#   bash toolchains/run.sh serve --listen 0.0.0.0:8443 --tls-cert C --tls-key K
#   bash toolchains/run.sh retrieve --task TASK.json  # one retrieval into ./data/mailbox
#   bash toolchains/run.sh check --task TASK.json     # Test Connection
set -euo pipefail
cd "$(dirname "$0")/.."
bash toolchains/install-deps.sh >/dev/null
binary=build/proxy/src/junction-proxy
if [[ ! -x $binary ]] || [[ -n "$(find wasm-core proxy -newer "$binary" -name '*.[ch]*' -print -quit)" ]]; then
  echo "Building junction-proxy (a few minutes the first time)…"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j2 --target junction-proxy
fi
# The web app: web/ plus the WebAssembly core, assembled in build-wasm/www.
www=build-wasm/www
if [[ ! -f $www/junction-core.wasm ]] ||
   [[ -n "$(find wasm-core web -newer "$www/junction-core.wasm" -type f -print -quit)" ]]; then
  echo "Building the web app's WebAssembly core…"
  export NODE_PATH=/usr/share/nodejs
  emcmake cmake -S . -B build-wasm -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-wasm -j2 --target junction_www
fi
command=${1:-serve}
shift || true
has() { local flag=$1; shift; for a in "$@"; do [[ "$a" == "$flag" ]] && return 0; done; return 1; }
case "$command" in
  serve)
    args=("$@")
    has --data "$@" || args+=(--data data)
    has --listen "$@" || args+=(--listen 127.0.0.1:8080)
    has --web "$@" || args+=(--web "$www")
    exec "$binary" serve "${args[@]}"
    ;;
  retrieve)
    if has --data "$@"; then exec "$binary" retrieve "$@"; fi
    exec "$binary" retrieve --data data "$@"
    ;;
  --help | -h)
    exec "$binary" --help
    ;;
  *)
    exec "$binary" "$command" "$@"
    ;;
esac
