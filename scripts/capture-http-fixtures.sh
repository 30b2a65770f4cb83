#!/usr/bin/env bash
# Regenerates the real captures under testdata/formats/ that the format tests read:
#   prom-text/        /metrics of client_golang's default registry, and two Go-collector variants
#   expvar/           /debug/vars
#   pprof-heap-text/  /debug/pprof/heap?debug=1
#   go-buildinfo/     the .go.buildinfo section of a tiny module binary
#   capture-http.json when, on what, and the binary's `go version -m` (the expected parse)
# from testprograms/promfixture, a real Go process on 127.0.0.1. Captures are regenerated, never
# edited. Needs go (Debian golang-go), golang-github-prometheus-client-golang-dev, curl, node.
set -euo pipefail
cd "$(dirname "$0")/.."
out=testdata/formats
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

go_version=$(go env GOVERSION)
client=$(dpkg-query -W -f='${Version}' golang-github-prometheus-client-golang-dev)
client=client_golang${client%%-*}
mkdir -p "$out/prom-text" "$out/expvar" "$out/pprof-heap-text" "$out/go-buildinfo"

# Debian ships client_golang as GOPATH source: build offline, outside module mode.
GO111MODULE=off GOPATH=/usr/share/gocode go build -o "$work/promfixture" ./testprograms/promfixture
(cd "$work" && exec ./promfixture >ready) &
pid=$!
for _ in $(seq 100); do grep -q READY "$work/ready" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/^READY .*addr=//p' "$work/ready")
[ -n "$addr" ] || { echo "promfixture printed no READY line" >&2; exit 1; }
get() { curl -fsS --max-time 10 "http://$addr$1" -o "$2"; }
get /metrics "$out/prom-text/$go_version-$client-default.txt"
get /metrics-runtime "$out/prom-text/$go_version-$client-memstats-and-runtime-metrics.txt"
get /metrics-rm-only "$out/prom-text/$go_version-$client-runtime-metrics-only.txt"
get /debug/vars "$out/expvar/$go_version.json"
get '/debug/pprof/heap?debug=1' "$out/pprof-heap-text/$go_version.txt"

# A module-mode binary with quoted build settings; only its section is kept (hundreds of bytes).
name=$go_version-linux-amd64-ldflags-tags
mkdir "$work/tiny"
printf 'module example.com/tiny\n\ngo 1.19\n' >"$work/tiny/go.mod"
printf 'package main\n\nvar Version = "dev"\n\nfunc main() { println(Version) }\n' >"$work/tiny/main.go"
(cd "$work/tiny" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -tags=netgo,osusergo \
  -ldflags='-s -w -X main.Version=fixture' -o "$work/$name" .)
(cd "$work" && go version -m "$name") >"$work/go-version-m.txt"

# capture-http.json sits beside the kind directories (not in one): what the tests check against.
READY=$(cat "$work/ready") WORK=$work NAME=$name OUT=$out CLIENT=$client GOV=$go_version \
  node --import tsx --input-type=module -e "
  import { readFileSync, writeFileSync } from 'node:fs'
  import { release } from 'node:os'
  import { extractBuildInfoSection } from './src/sources/formats/go-buildinfo.ts'
  const { WORK, NAME, OUT, READY, CLIENT, GOV } = process.env
  const section = extractBuildInfoSection(readFileSync(WORK + '/' + NAME), NAME)
  if (!section) throw new Error('no Go build info in ' + NAME)
  writeFileSync(OUT + '/go-buildinfo/' + NAME + '.buildinfo', section)
  const info = {
    date: new Date().toISOString().slice(0, 10),
    kernel: release(),
    go: GOV,
    promfixtureReady: READY.trim(),
    clientGolang: CLIENT,
    goVersionM: { [NAME + '.buildinfo']: readFileSync(WORK + '/go-version-m.txt', 'utf8') },
  }
  writeFileSync(OUT + '/capture-http.json', JSON.stringify(info, null, 2) + '\n')
"
ls -l "$out"/{prom-text,expvar,pprof-heap-text,go-buildinfo}/ "$out/capture-http.json"
