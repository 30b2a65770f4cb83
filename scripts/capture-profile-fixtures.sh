#!/usr/bin/env bash
# Re-captures the real heap profiles and goroutine dumps that the pprof and goroutine parsers are
# tested on, into testdata/formats/pprof/ and testdata/formats/goroutines/, with a README and
# capture.json in each. Needs go and curl. Uses testprograms/profilefixture (stdlib only).
#
# Usage: scripts/capture-profile-fixtures.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PPROF=testdata/formats/pprof
DUMPS=testdata/formats/goroutines
WORK=$(mktemp -d)
BIN=$WORK/profilefixture
CLEAN_ENV=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/nonexistent LANG=C.UTF-8 GOMAXPROCS=2)

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# wait_for FILE PATTERN: up to 15 s for a line in FILE matching PATTERN; prints it.
wait_for() {
  for _ in $(seq 150); do
    if grep -m1 -E "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1" >&2
  return 1
}

go build -o "$BIN" ./testprograms/profilefixture/main.go
rm -rf "$PPROF" "$DUMPS"
mkdir -p "$PPROF" "$DUMPS"

# 0. A process left alone for over a minute, so its dump shows wait minutes: started first,
#    captured last.
"${CLEAN_ENV[@]}" "$BIN" -grow 0 -workers 40 -gc 5s >"$WORK/aged.out" 2>/dev/null &
pids+=($!)
aged_ready=$(wait_for "$WORK/aged.out" '^READY ')
aged_started=$SECONDS

# 1. A live process: two heap profiles 2 s apart (the cache grows by 2 × 10 × 200 entries of
#    16 KiB in between), allocs, the goroutine profile in all three forms, then SIGQUIT.
"${CLEAN_ENV[@]}" "$BIN" -grow 200 -workers 300 >"$WORK/live.out" 2>"$WORK/live.err" &
pids+=($!)
ready=$(wait_for "$WORK/live.out" '^READY ')
addr=$(sed -E 's/.*addr=([^ ]+).*/\1/' <<<"$ready")
pid=$(sed -E 's/.*pid=([0-9]+).*/\1/' <<<"$ready")
get() { curl -sf --max-time 20 "http://$addr/debug/pprof/$1" -o "$2"; }
get heap "$PPROF/go1.19-heap-t0.pb.gz"
sleep 2
get heap "$PPROF/go1.19-heap-t1.pb.gz"
get allocs "$PPROF/go1.19-allocs.pb.gz"
get goroutine "$PPROF/go1.19-goroutine.pb.gz"
get 'goroutine?debug=1' "$DUMPS/go1.19-debug1.txt"
get 'goroutine?debug=2' "$DUMPS/go1.19-debug2.txt"
# SIGQUIT: the runtime prints every goroutine to stderr and exits with status 2. The dump is
# stored after some log lines, as it appears in a service's log.
kill -QUIT "$pid"
wait "$pid" || true
{ printf '2024/05/01 12:00:00 listening on %s\n' "$addr"; cat "$WORK/live.err"; } >"$DUMPS/go1.19-sigquit.log"

# 2. A panic after 300 ms, with log lines before it, as `go run` or a container log shows it.
"${CLEAN_ENV[@]}" "$BIN" -workers 20 -panic 300ms >"$WORK/panic.out" 2>"$WORK/panic.err" || true
{ printf 'starting profilefixture\n'; cat "$WORK/panic.err"; } >"$DUMPS/go1.19-panic.log"
# The same panic with GOTRACEBACK=all: every goroutine, not just the panicking one.
"${CLEAN_ENV[@]}" GOTRACEBACK=all "$BIN" -workers 20 -panic 300ms >/dev/null 2>"$DUMPS/go1.19-panic-all.log" || true

# 3. The aged process, once its goroutines have waited a minute.
sleep $((aged_started + 65 - SECONDS > 0 ? aged_started + 65 - SECONDS : 0))
aged_addr=$(sed -E 's/.*addr=([^ ]+).*/\1/' <<<"$aged_ready")
curl -sf --max-time 20 "http://$aged_addr/debug/pprof/goroutine?debug=2" -o "$DUMPS/go1.19-debug2-waiting.txt"

go_version=$(go version | awk '{ print $3 }')
date=$(date -u +%Y-%m-%d)
for dir in "$PPROF" "$DUMPS"; do
  cat >"$dir/capture.json" <<JSON
{
  "date": "$date",
  "goVersion": "$go_version",
  "program": "testprograms/profilefixture/main.go",
  "ready": "$ready"
}
JSON
done
cat >"$PPROF/README.md" <<MD
# pprof fixtures: real Go profiles

Captured by \`scripts/capture-profile-fixtures.sh\` on $date with $go_version from
\`testprograms/profilefixture\` (MemProfileRate 4096; main.leakyCache grows a map by 200 entries of
16 KiB every 100 ms; main.recurse allocates at seven depths; main.newBlock is inlined; 300
goroutines parked in main.leakyWorker). Do not edit by hand: re-run the script.

| file | how |
|---|---|
| go1.19-heap-t0.pb.gz, go1.19-heap-t1.pb.gz | \`/debug/pprof/heap\`, 2 s apart |
| go1.19-allocs.pb.gz | \`/debug/pprof/allocs\` |
| go1.19-goroutine.pb.gz | \`/debug/pprof/goroutine\` (proto) |
MD
cat >"$DUMPS/README.md" <<MD
# Goroutine dump fixtures: real Go output

Captured by \`scripts/capture-profile-fixtures.sh\` on $date with $go_version from
\`testprograms/profilefixture\` (300 goroutines in main.leakyWorker on a channel receive, three
each in select, time.Sleep and sync.Mutex.Lock). Do not edit by hand: re-run the script.

| file | how |
|---|---|
| go1.19-debug1.txt | \`/debug/pprof/goroutine?debug=1\` (aggregated, no states) |
| go1.19-debug2.txt | \`/debug/pprof/goroutine?debug=2\` |
| go1.19-debug2-waiting.txt | \`/debug/pprof/goroutine?debug=2\` of a process idle for 65 s (40 workers): states carry \`N minutes\` |
| go1.19-sigquit.log | stderr after \`kill -QUIT\`, behind one log line |
| go1.19-panic.log | stderr of a panic (GOTRACEBACK default: the panicking goroutine only), behind one log line |
| go1.19-panic-all.log | stderr of the same panic with GOTRACEBACK=all |
MD
echo "captured into $PPROF and $DUMPS ($go_version)"
