#!/usr/bin/env bash
# Browser tests of the web app: playwright-core drives Debian's Chromium against a real
# `junction-proxy serve` (started and stopped by the tests themselves, lib/harness.mjs) and a
# real Dovecot on 127.0.0.1 (tests/integration/lib/dovecot.sh, started here).
#
# Usage: run.sh JUNCTION-PROXY WWW-DIR [TEST-FILE...]
#   WWW-DIR     the deployable web app (<build-wasm>/www)
#   TEST-FILE   tests/browser/*.test.mjs to run (default: all), one after the other
# Exit 0 when every test passed, 77 (ctest's SKIP_RETURN_CODE) when a prerequisite is
# missing outside CI, 1 otherwise. With CI=true a missing prerequisite is a failure.
# Screenshots: screenshots-out/ (the documentation shots, and failures/ for each failed step).
# JUNCTION_TEST_KEEP=1 keeps the work folder (proxy logs, data dir, Dovecot logs).
set -euo pipefail
BROWSER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if (($# < 2)); then
  echo "usage: run.sh JUNCTION-PROXY WWW-DIR [TEST-FILE...]" >&2
  exit 2
fi
PROXY=$1
WWW=$2
shift 2

# A missing prerequisite skips the test on a developer's machine; in CI it is a failure, so
# that a broken setup cannot pass as "nothing to test".
missing() {
  if [[ ${CI:-} == true ]]; then
    echo "FAIL: $* (CI=true: browser tests must run)" >&2
    exit 1
  fi
  echo "SKIP: $*" >&2
  exit 77
}

if [[ ! -x $PROXY ]]; then
  echo "run.sh: junction-proxy '$PROXY' is not executable" >&2
  exit 2
fi
[[ -f $WWW/index.html ]] ||
  missing "no web app at '$WWW' (the WebAssembly build makes <build-wasm>/www; or set" \
    "JUNCTION_WWW_DIR)"
[[ -x /usr/bin/chromium ]] ||
  missing "no /usr/bin/chromium (bash toolchains/install-deps.sh installs it)"
[[ -f $BROWSER_DIR/node_modules/playwright-core/package.json ]] ||
  missing "no $BROWSER_DIR/node_modules/playwright-core (bash toolchains/install-deps.sh" \
    "runs npm ci there)"
command -v node >/dev/null || missing "no node"
[[ $(id -u) -eq 0 ]] || missing "Dovecot's privilege separation needs root"
command -v dovecot >/dev/null || missing "no dovecot (bash toolchains/install-deps.sh installs it)"

files=()
if (($#)); then
  for f in "$@"; do
    [[ -f $f ]] || f=$BROWSER_DIR/$f
    [[ -f $f ]] || { echo "no test file $f" >&2; exit 2; }
    files+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")")
  done
else
  files=("$BROWSER_DIR"/*.test.mjs)
fi

source "$BROWSER_DIR/../integration/lib/common.sh"
jt_init browser "$PROXY"
dc_start main

# What the tests need to know; lib/harness.mjs reads these.
export JUNCTION_PROXY=$JT_BIN
JUNCTION_WWW=$(cd "$WWW" && pwd)
export JUNCTION_WWW
export JUNCTION_BROWSER_WORK=$JT_WORK
export JUNCTION_DOVECOT_LIB=$JT_LIB_DIR
export JUNCTION_SCREENSHOTS=$BROWSER_DIR/screenshots-out
export DC_POP3_PORT DC_POP3S_PORT DC_IMAP_PORT DC_IMAPS_PORT DC_SPARE_PORT1 DC_SPARE_PORT2 \
  DC_SPARE_PORT3 DC_SPARE_PORT4 DC_PY
mkdir -p "$JUNCTION_SCREENSHOTS/failures"

for f in "${files[@]}"; do
  name=$(basename "$f" .test.mjs)
  echo "== browser: $name"
  set +e
  # Each file is its own process (a fresh proxy, data dir and browser profile); node:test
  # prints one line per step and exits 1 when one failed. The timeout is a backstop only:
  # every wait inside has its own, shorter limit with a message.
  timeout --kill-after=10 240 node --test-reporter=spec "$f"
  rc=$?
  set -e
  if ((rc == 0)); then
    jt_pass "$name"
  else
    ((rc == 124)) && echo "  ($name did not finish within 240 s)"
    jt_fail "$name (exit $rc; screenshots of failed steps in $JUNCTION_SCREENSHOTS/failures)"
  fi
done

jt_finish
