#!/usr/bin/env bash
# Installs what gomemdoctor's demo and tests need on a fresh Debian machine with Node 20, as
# root: Debian packages only when they are missing, the Go toolchains the tests name (Go 1.19 from
# Debian, Go 1.26 and 1.27 through the Go module proxy), then the npm packages from the lock.
set -euo pipefail
cd "$(dirname "$0")/.."

GO119=/usr/lib/go-1.19/bin/go
# Pinned in src/demo/go-toolchains.ts too; tests check that each resolves to exactly this.
GO126=go1.26.8
GO127=go1.27.3

missing=()
# Go 1.19, the MADV_FREE era's runtime; Debian installs it beside, not as, `go`.
[ -x "$GO119" ] || missing+=(golang-1.19-go)
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

# A Go that understands GOTOOLCHAIN (≥ 1.21) selects Go 1.26 and 1.27 through the module proxy.
# Debian has none newer than 1.19, so without one on PATH, Go 1.26 itself is fetched as the
# module golang.org/toolchain with Go 1.19 into build/toolchains/.
driver=go
minor=$(go env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p' || true)
if [ -z "$minor" ] || [ "$minor" -lt 21 ]; then
  driver=build/toolchains/$GO126/bin/go
  if [ ! -x "$driver" ]; then
    echo "setup: no Go ≥ 1.21 on PATH; fetching $GO126 through the Go module proxy" >&2
    dir=$(GOFLAGS=-mod=mod GOPATH="$PWD/build/gopath" "$GO119" mod download -json \
      "golang.org/toolchain@v0.0.1-$GO126.linux-amd64" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    mkdir -p build/toolchains
    rm -rf "build/toolchains/$GO126"
    cp -r "$dir" "build/toolchains/$GO126"
    chmod -R u+w "build/toolchains/$GO126"
    # Module zips keep no file modes; the go command sets these itself when it switches.
    chmod +x "build/toolchains/$GO126"/bin/* "build/toolchains/$GO126"/pkg/tool/*/*
    chmod -R u+w build/gopath && rm -rf build/gopath
  fi
fi
for version in "$GO126" "$GO127"; do
  GOTOOLCHAIN=$version "$driver" env GOVERSION >/dev/null ||
    { echo "setup: could not fetch $version through the Go module proxy" >&2; exit 1; }
done
# Today's client_golang (testprograms/go.mod) for the /metrics and fleet tests, beside Debian's.
GOTOOLCHAIN=$GO126 "$driver" -C testprograms mod download || { echo "setup: could not download testprograms/go.mod's modules through the Go module proxy" >&2; exit 1; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
