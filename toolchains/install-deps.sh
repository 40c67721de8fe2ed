#!/usr/bin/env bash
# Installs every Debian package the build and the tests need (run as root on Debian 12), and
# the browser tests' npm package (playwright-core, pinned in tests/browser/package-lock.json).
# Idempotent: packages already present are left alone. Pass --bench to add the peers that
# the benchmarks in tests/bench/ compare against.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates openssl curl python3 procps
  libboost1.81-dev libssl-dev nlohmann-json3-dev libsqlite3-dev sqlite3
  libgtest-dev googletest
  clang-14 libclang-rt-14-dev clang-format-14
  emscripten nodejs
  dovecot-core dovecot-imapd dovecot-pop3d dovecot-submissiond postfix
  chromium fonts-liberation fonts-dejavu-core
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(isync fetchmail getmail6 msmtp hyperfine time)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -q
  # Postfix (for smtp-sink and the tests' private instances) asks for a mailer type unless
  # told; "No configuration" leaves /etc/postfix/main.cf absent, so the system instance
  # cannot start even where services are allowed to.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  # Package installs must not start the system's own mail servers.
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all ${#packages[@]} packages present"

# The browser tests drive Debian's Chromium with playwright-core (never `playwright install`:
# it downloads a browser). npm comes with the node already installed above.
browser_dir=$(cd "$(dirname "$0")/../tests/browser" && pwd)
want=$(node -p "require('$browser_dir/package-lock.json').packages['node_modules/playwright-core'].version")
have=$(node -p "require('$browser_dir/node_modules/playwright-core/package.json').version" 2>/dev/null || true)
if [[ "$have" != "$want" ]]; then
  command -v npm >/dev/null || { echo "install-deps: npm not found (it comes with nodejs)" >&2; exit 1; }
  (cd "$browser_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
echo "install-deps: playwright-core $want present in tests/browser/node_modules"
