#!/usr/bin/env bash
# Installs what gomemdoctor's demo and tests need on a fresh Debian machine with Node 20, as
# root: Debian packages only when their command is missing, then the npm packages from the lock.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v go >/dev/null 2>&1 || missing+=(golang-go)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
# The browser tests of the HTML report and the live dashboard drive Debian's Chromium.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# The namespace tests bring a network namespace's loopback up (unshare/nsenter are util-linux).
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
# The real client_golang, for tests that read a /metrics page it serves (built offline, GOPATH mode).
[ -d /usr/share/gocode/src/github.com/prometheus/client_golang ] ||
  missing+=(golang-github-prometheus-client-golang-dev)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: need ${missing[*]}; run as root or install them: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]} from Debian" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
