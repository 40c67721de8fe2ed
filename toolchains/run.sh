#!/usr/bin/env bash
# Sets up Junction (packages, native build) and runs it on its embedded default: state in
# SQLite and mail in Maildir++ under a local data folder (./data unless --data is given).
#   bash toolchains/run.sh retrieve --task TASK.json   # one retrieval into ./data/mailbox
#   bash toolchains/run.sh check --task TASK.json      # Test Connection
# Until `junction-proxy serve` lands, the command line is Junction's way in.
set -euo pipefail
cd "$(dirname "$0")/.."
bash toolchains/install-deps.sh >/dev/null
if [[ ! -x build/proxy/src/junction-proxy ]] || [[ -n "$(find wasm-core proxy -newer build/proxy/src/junction-proxy -name '*.[ch]*' -print -quit)" ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j2 --target junction-proxy
fi
command=${1:-}
shift || true
case "$command" in
  retrieve)
    has_data=0
    for a in "$@"; do [[ "$a" == "--data" ]] && has_data=1; done
    if ((has_data)); then
      exec build/proxy/src/junction-proxy retrieve "$@"
    fi
    mkdir -p data
    exec build/proxy/src/junction-proxy retrieve --data data "$@"
    ;;
  "" | --help | -h)
    exec build/proxy/src/junction-proxy --help
    ;;
  *)
    exec build/proxy/src/junction-proxy "$command" "$@"
    ;;
esac
