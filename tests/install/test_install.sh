#!/usr/bin/env bash
# A self-hoster's install: `cmake --install` of the native build into a temporary prefix,
# then `serve` from there with no --web: it must find and serve the assembled web app
# (the page and its WebAssembly core) by itself. Without an app it must refuse to start.
# Needs the native build (BUILD_DIR) and the WebAssembly build's web app (build-wasm/www).
# Usage: test_install.sh BUILD_DIR PORT
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib/common.sh"
JT_NAME=test_install
build=$1
port=$2
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d /tmp/junction-install.XXXXXX)
prefix=$work/prefix
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "-- cmake --install into $prefix"
jt_check cmake --install "$build" --prefix "$prefix" -- "cmake --install succeeds"
for f in bin/junction-proxy share/junction/www/index.html share/junction/www/junction-core.wasm \
  share/junction/www/junction-core.js share/junction/www/app.js share/junction/junction.service \
  share/junction/config.example.json; do
  jt_check test -s "$prefix/$f" -- "installed: $f"
done
jt_check grep -q "ExecStart=$prefix/bin/junction-proxy serve" "$prefix/share/junction/junction.service" \
  -- "the systemd unit starts the installed binary"
jt_check python3 -c "import json,sys; json.load(open(sys.argv[1]))" \
  "$prefix/share/junction/config.example.json" -- "the example config is JSON"

echo "-- serve from the installation, no --web"
cd "$work"  # not the checkout: nothing may be found through the working directory
"$prefix/bin/junction-proxy" serve --data "$work/data" --listen "127.0.0.1:$port" \
  >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  sleep 0.1
done
jt_check grep -q "web app: $prefix/share/junction/www" "$work/serve.out" \
  -- "serve says it serves the installed web app"
code=$(curl -s -o "$work/index.html" -w '%{http_code}' "http://127.0.0.1:$port/")
jt_check test "$code" = 200 -- "GET / answers 200 ($code)"
jt_check cmp -s "$work/index.html" "$src/web/index.html" -- "... with the app's index.html"
code=$(curl -s -o "$work/core.wasm" -w '%{http_code}' "http://127.0.0.1:$port/junction-core.wasm")
jt_check test "$code" = 200 -- "GET /junction-core.wasm answers 200 ($code)"
jt_check cmp -s "$work/core.wasm" "$prefix/share/junction/www/junction-core.wasm" \
  -- "... with the installed WebAssembly core"
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=

echo "-- no web app: serve refuses to start"
mv "$prefix/share/junction/www" "$prefix/share/junction/www.away"
set +e
timeout 20 "$prefix/bin/junction-proxy" serve --data "$work/data2" --listen "127.0.0.1:$port" \
  >"$work/refused.out" 2>"$work/refused.err"
status=$?
set -e
jt_check test "$status" = 1 -- "serve without an app exits 1 ($status)"
jt_check grep -q "no web app to serve" "$work/refused.err" -- "... saying there is no web app"
jt_check grep -q "$prefix/share/junction/www" "$work/refused.err" -- "... and where it looked"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" || true)
jt_check test "$code" = 000 -- "... and nothing listens ($code)"
set +e
timeout 5 "$prefix/bin/junction-proxy" serve --data "$work/data3" --listen "127.0.0.1:$port" \
  --web "$work/empty-nothing" >/dev/null 2>"$work/noindex.err"
status=$?
set -e
jt_check test "$status" = 1 -- "--web naming a folder without index.html exits 1 ($status)"
jt_finish
