#!/usr/bin/env bash
# Regenerates the real captures under testdata/formats/ that the format tests read:
#   prom-text/        /metrics of client_golang's default registry, and two Go-collector variants,
#                     from Debian's client_golang (Go 1.19) and from today's (module proxy, Go 1.26)
#   expvar/           /debug/vars
#   pprof-heap-text/  /debug/pprof/heap?debug=1
#   go-buildinfo/     the .go.buildinfo section of tiny module binaries: Go 1.19, Go 1.27, and
#                     Go 1.26 with a GOEXPERIMENT
#   capture-http.json when, on what, and each binary's `go version -m` (the expected parse)
# from testprograms/promfixture, a real Go process on 127.0.0.1. Captures are regenerated, never
# edited. Needs Debian's golang-1.19-go and golang-github-prometheus-client-golang-dev, a Go ≥ 1.21
# as `go` (it fetches Go 1.26 and 1.27 through GOTOOLCHAIN), curl, node.
set -euo pipefail
cd "$(dirname "$0")/.."
out=testdata/formats
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

# Pinned in src/demo/go-toolchains.ts too.
GO119=/usr/lib/go-1.19/bin/go
GO126=go1.26.8
GO127=go1.27.3
go_version=$("$GO119" env GOVERSION)
client=$(dpkg-query -W -f='${Version}' golang-github-prometheus-client-golang-dev)
client=client_golang${client%%-*}
# Today's client_golang: the version testprograms/go.mod requires.
modern=client_golang$(sed -n 's/^require github.com\/prometheus\/client_golang v//p' testprograms/go.mod)
mkdir -p "$out/prom-text" "$out/expvar" "$out/pprof-heap-text" "$out/go-buildinfo"

# start NAME: runs $work/NAME, a promfixture, sets $addr; stop: ends it.
start() {
  rm -f "$work/ready"
  (cd "$work" && exec "./$1" >ready) &
  pid=$!
  for _ in $(seq 100); do grep -q READY "$work/ready" 2>/dev/null && break; sleep 0.1; done
  addr=$(sed -n 's/^READY .*addr=//p' "$work/ready")
  [ -n "$addr" ] || { echo "$1 printed no READY line" >&2; exit 1; }
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
get() { curl -fsS --max-time 10 "http://$addr$1" -o "$2"; }

# Debian ships client_golang as GOPATH source: build offline, outside module mode, with the Go it
# is packaged for.
GOTOOLCHAIN=local GO111MODULE=off GOPATH=/usr/share/gocode "$GO119" build -o "$work/promfixture" ./testprograms/promfixture
start promfixture
get /metrics "$out/prom-text/$go_version-$client-default.txt"
get /metrics-runtime "$out/prom-text/$go_version-$client-memstats-and-runtime-metrics.txt"
get /metrics-rm-only "$out/prom-text/$go_version-$client-runtime-metrics-only.txt"
get /debug/vars "$out/expvar/$go_version.json"
get '/debug/pprof/heap?debug=1' "$out/pprof-heap-text/$go_version.txt"
ready_debian=$(cat "$work/ready")
stop

# The same program on today's client_golang, in module mode (testprograms/go.mod, go.sum).
(cd testprograms && GOTOOLCHAIN=$GO126 GOFLAGS=-mod=readonly go build -o "$work/promfixture-modern" ./promfixture)
start promfixture-modern
get /metrics "$out/prom-text/$GO126-$modern-default.txt"
get /metrics-runtime "$out/prom-text/$GO126-$modern-memstats-and-runtime-metrics.txt"
get /metrics-rm-only "$out/prom-text/$GO126-$modern-runtime-metrics-only.txt"
ready_modern=$(cat "$work/ready")
stop

# Module-mode binaries with quoted build settings; only their sections are kept (hundreds of
# bytes): Debian's Go 1.19, Go 1.27 (a version newer than the parser was written for), and Go 1.26
# with a GOEXPERIMENT (its version reads go1.26.8-X:goroutineleakprofile).
mkdir "$work/tiny"
printf 'package main\n\nvar Version = "dev"\n\nfunc main() { println(Version) }\n' >"$work/tiny/main.go"
names=()
# tiny NAME GO_LINE ENV...: builds the tiny module as NAME with the go command and env given.
tiny() {
  local name=$1 line=$2
  shift 2
  printf 'module example.com/tiny\n\ngo %s\n' "$line" >"$work/tiny/go.mod"
  (cd "$work/tiny" && env CGO_ENABLED=0 GOOS=linux GOARCH=amd64 "$@" build -tags=netgo,osusergo \
    -ldflags='-s -w -X main.Version=fixture' -o "$work/$name" .)
  (cd "$work" && env "$@" version -m "$name") >"$work/$name.version-m"
  names+=("$name")
}
tiny "$go_version-linux-amd64-ldflags-tags" 1.19 GOTOOLCHAIN=local "$GO119"
tiny "$GO127-linux-amd64" 1.27 GOTOOLCHAIN=$GO127 go
tiny "$GO126-X-goroutineleakprofile-linux-amd64" 1.26 GOTOOLCHAIN=$GO126 GOEXPERIMENT=goroutineleakprofile go

# capture-http.json sits beside the kind directories (not in one): what the tests check against.
READY=$ready_debian READY_MODERN=$ready_modern WORK=$work NAMES="${names[*]}" OUT=$out \
  CLIENT=$client MODERN=$modern GOV=$go_version GO126=$GO126 \
  node --import tsx --input-type=module -e "
  import { readFileSync, writeFileSync } from 'node:fs'
  import { release } from 'node:os'
  import { extractBuildInfoSection } from './src/sources/formats/go-buildinfo.ts'
  const { WORK, NAMES, OUT, READY, READY_MODERN, CLIENT, MODERN, GOV, GO126 } = process.env
  const goVersionM = {}
  for (const name of NAMES.split(' ')) {
    const section = extractBuildInfoSection(readFileSync(WORK + '/' + name), name)
    if (!section) throw new Error('no Go build info in ' + name)
    writeFileSync(OUT + '/go-buildinfo/' + name + '.buildinfo', section)
    goVersionM[name + '.buildinfo'] = readFileSync(WORK + '/' + name + '.version-m', 'utf8')
  }
  const info = {
    date: new Date().toISOString().slice(0, 10),
    kernel: release(),
    go: GOV,
    promfixtureReady: READY.trim(),
    clientGolang: CLIENT,
    modern: { go: GO126, clientGolang: MODERN, promfixtureReady: READY_MODERN.trim() },
    goVersionM,
  }
  writeFileSync(OUT + '/capture-http.json', JSON.stringify(info, null, 2) + '\n')
"
ls -l "$out"/{prom-text,expvar,pprof-heap-text,go-buildinfo}/ "$out/capture-http.json"
