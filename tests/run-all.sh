#!/usr/bin/env bash
# Sets up and runs every test: the README's test command, and what CI runs.
#   1. installs the Debian packages the build and the tests need (as root)
#   2. native build (warnings are errors): unit tests, proxy tests, integration tests against
#      a real Dovecot started on 127.0.0.1
#   3. WebAssembly build: the same core unit tests under node; then the browser tests: its web
#      app served by the native junction-proxy, in Chromium, against Dovecot (tests/browser)
#   4. AddressSanitizer + UndefinedBehaviorSanitizer build: unit and proxy tests
#   5. libFuzzer build (clang): every fuzz target over its corpus, then a bounded exploration
# Ends with one line "N passed, N failed"; exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${JUNCTION_JOBS:-2}

bash toolchains/install-deps.sh || { echo "install-deps failed"; exit 1; }
export NODE_PATH=/usr/share/nodejs

passed=0
failed=0
failures=()

# Runs ctest in a build dir and adds its counts to the totals.
run_ctest() {
  local name=$1 dir=$2
  shift 2
  local log="$dir/ctest-$name.log"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" "$@") 2>&1 | tee "$log"
  local line
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -1)
  if [[ -z "$line" ]]; then
    echo "== $name: ctest printed no summary"
    failed=$((failed + 1))
    failures+=("$name: no test summary")
    return
  fi
  local bad total
  bad=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
  passed=$((passed + total - bad))
  failed=$((failed + bad))
  ((bad == 0)) || failures+=("$name: $bad of $total failed")
}

step_failed() {
  echo "== $1 FAILED"
  failed=$((failed + 1))
  failures+=("$1")
}

echo "== native build"
if cmake -S . -B build -G Ninja -DJUNCTION_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
   cmake --build build -j"$jobs"; then
  # The browser tests need the web app of the WebAssembly build: they run after it.
  run_ctest native build -LE browser
else
  step_failed "native build"
fi

echo "== WebAssembly build"
if emcmake cmake -S . -B build-wasm -G Ninja -DJUNCTION_WERROR=ON -DCMAKE_BUILD_TYPE=Release &&
   cmake --build build-wasm -j"$jobs"; then
  run_ctest wasm build-wasm
else
  step_failed "WebAssembly build"
fi

echo "== browser tests (the WebAssembly build's web app in Chromium, native junction-proxy)"
# Skipped (exit 77) when build-wasm/www, Chromium or tests/browser/node_modules is missing,
# except under CI=true, where that is a failure (tests/browser/run.sh).
run_ctest browser build -L browser

echo "== sanitizer build (ASan + UBSan)"
if cmake -S . -B build-asan -G Ninja -DJUNCTION_WERROR=ON -DJUNCTION_SANITIZE=ON \
     -DCMAKE_BUILD_TYPE=Debug &&
   cmake --build build-asan -j"$jobs"; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_ctest asan build-asan -LE integration
else
  step_failed "sanitizer build"
fi

echo "== fuzz build (libFuzzer, clang)"
if CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DJUNCTION_FUZZ=ON \
     -DJUNCTION_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
   cmake --build build-fuzz -j"$jobs" --target $(for f in tests/fuzz/*/fuzz_*.cpp; do
                                                  basename "$f" .cpp; done); then
  run_ctest fuzz build-fuzz -L fuzz
else
  step_failed "fuzz build"
fi

echo
if ((${#failures[@]})); then
  printf 'failed: %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
((failed == 0))
