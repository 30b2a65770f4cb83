#!/usr/bin/env bash
# Regenerates testdata/formats/{proc-smaps,pprof-index}/ and testdata/sysfs-thp/ (kept out of
# the formats sniff matrix: a bare number like max_ptes_none cannot be told apart by content) from a real memsick process and
# this machine's THP settings. Captures are regenerated, never edited. Needs go and node.
set -euo pipefail
cd "$(dirname "$0")/.."
out=testdata/formats
mkdir -p "$out/proc-smaps" "$out/pprof-index" testdata/sysfs-thp
bin=$(node --import tsx -e "import('./src/demo/memsick.ts').then(m => m.buildMemsick()).then(p => console.log(p))")
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
"$bin" goroutine-leak --goroutines 2000 >"$work/ready" 2>/dev/null &
pid=$!
for _ in $(seq 100); do grep -q READY "$work/ready" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/^READY .*addr=\([^ ]*\).*/\1/p' "$work/ready")
[ -n "$addr" ] || { echo "memsick printed no READY line" >&2; exit 1; }
go_version=$(go env GOVERSION)
cat "/proc/$pid/smaps" >"$out/proc-smaps/$go_version-memsick-goroutine-leak.txt"
curl -fsS --max-time 10 "http://$addr/debug/pprof/" -o "$out/pprof-index/$go_version.html"
thp=/sys/kernel/mm/transparent_hugepage
cp "$thp/enabled" "testdata/sysfs-thp/enabled"
cp "$thp/defrag" "testdata/sysfs-thp/defrag"
cp "$thp/khugepaged/max_ptes_none" "testdata/sysfs-thp/max_ptes_none"
echo "captured smaps, pprof index and THP settings ($(uname -r), $go_version)"
