#!/usr/bin/env bash
# Re-captures the real /proc and cgroup files that src/sources/formats/*.test.ts parse, into
# testdata/formats/<capture-kind>/, plus capture-proc.json and its own section of README.md there
# (other scripts own the other directories and sections).
#
# Linux, as root, on a machine whose memory controller is cgroup v1 (it creates two child memory
# cgroups under this shell's own memory cgroup and removes them afterwards). It never reads the
# caller's environment into a fixture: every captured process starts under `env -i`.
#
# Usage: scripts/capture-proc-fixtures.sh
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=testdata/formats
WORK=$(mktemp -d)
BIN=$WORK/procfixture
CLEAN_ENV=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/nonexistent LANG=C.UTF-8)
GO_ENV=(GODEBUG=madvdontneed=0,gctrace=0 GOGC=200 GOMEMLIMIT=200MiB GOMAXPROCS=2)

memcg_path=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
MEMCG=/sys/fs/cgroup/memory${memcg_path%/}
[[ -f $MEMCG/memory.limit_in_bytes ]] || { echo "no cgroup v1 memory directory at $MEMCG" >&2; exit 3; }
LIMITED=$MEMCG/gomemdoctor-fixture-limited
OOM=$MEMCG/gomemdoctor-fixture-oom

pids=()
cleanup() {
  {
    for pid in "${pids[@]}"; do kill "$pid" || true; done
    wait || true
  } 2>/dev/null
  rmdir "$LIMITED" "$OOM" 2>/dev/null || true
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

# start_in_cgroup DIR COMMAND...: becomes COMMAND, as a member of the v1 memory cgroup DIR (it
# execs: call it in the background or in a subshell).
start_in_cgroup() {
  local dir=$1
  shift
  exec sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$dir" "$@"
}

go build -o "$BIN" ./testprograms/procfixture/main.go
MINE=(proc-status smaps-rollup proc-environ proc-cgroup proc-net-tcp kernel-release
  cgroup-memory-stat cgroup-memory-usage cgroup-memory-limit cgroup-memory-failcnt cgroup-memory-events)
for dir in "${MINE[@]}"; do
  rm -rf "${OUT:?}/$dir"
  mkdir -p "$OUT/$dir"
done

# 1. The Go program in a 256 MiB cgroup, with MADV_FREE returns.
mkdir -p "$LIMITED"
echo $((256 * 1024 * 1024)) >"$LIMITED/memory.limit_in_bytes"
start_in_cgroup "$LIMITED" "${CLEAN_ENV[@]}" "${GO_ENV[@]}" "$BIN" >"$WORK/go.out" &
pids+=($!)
ready=$(wait_for "$WORK/go.out" '^READY ')
go_pid=$(sed -E 's/.*pid=([0-9]+).*/\1/' <<<"$ready")
sleep 1 # let the listeners' goroutines settle; nothing below depends on timing
cat "/proc/$go_pid/status" >"$OUT/proc-status/go-process.txt"
cat "/proc/$go_pid/smaps_rollup" >"$OUT/smaps-rollup/go-process-madvdontneed0.txt"
cat "/proc/$go_pid/environ" >"$OUT/proc-environ/go-process.bin"
cat "/proc/$go_pid/cgroup" >"$OUT/proc-cgroup/go-process-v1-hybrid.txt"
cat "/proc/$go_pid/net/tcp" >"$OUT/proc-net-tcp/go-process-tcp.txt"
cat "/proc/$go_pid/net/tcp6" >"$OUT/proc-net-tcp/go-process-tcp6.txt"
socket_inodes=$(ls -l "/proc/$go_pid/fd" | grep -oE 'socket:\[[0-9]+\]' | grep -oE '[0-9]+' | paste -sd, -)
cat "$LIMITED/memory.stat" >"$OUT/cgroup-memory-stat/v1-limited-256m.txt"
cat "$LIMITED/memory.usage_in_bytes" >"$OUT/cgroup-memory-usage/v1-limited-256m.txt"
cat "$LIMITED/memory.limit_in_bytes" >"$OUT/cgroup-memory-limit/v1-limited-256m.txt"
cat "$LIMITED/memory.failcnt" >"$OUT/cgroup-memory-failcnt/v1-limited-256m.txt"
cat "$LIMITED/memory.oom_control" >"$OUT/cgroup-memory-events/v1-oom-control-limited-256m.txt"
kill "$go_pid"
wait "${pids[0]}" 2>/dev/null || true # it was killed: expected

# 2. The same program in a 64 MiB cgroup: its 96 MiB peak gets it OOM-killed (no swap here).
mkdir -p "$OOM"
echo $((64 * 1024 * 1024)) >"$OOM/memory.limit_in_bytes"
oom_status=0
# A subshell: start_in_cgroup execs, and this shell must stay out of the cgroup it fills.
# The OOM kill is the point: bash's "Killed" notice goes to /dev/null with the rest.
{ (start_in_cgroup "$OOM" "${CLEAN_ENV[@]}" "$BIN") || oom_status=$?; } >/dev/null 2>&1
cat "$OOM/memory.stat" >"$OUT/cgroup-memory-stat/v1-after-oom-kill.txt"
cat "$OOM/memory.usage_in_bytes" >"$OUT/cgroup-memory-usage/v1-after-oom-kill.txt"
cat "$OOM/memory.limit_in_bytes" >"$OUT/cgroup-memory-limit/v1-limited-64m.txt"
cat "$OOM/memory.failcnt" >"$OUT/cgroup-memory-failcnt/v1-after-oom-kill.txt"
cat "$OOM/memory.oom_control" >"$OUT/cgroup-memory-events/v1-oom-control-after-oom-kill.txt"

# 3. This shell's own memory cgroup: no limit set, so the kernel's "unlimited" number.
cat "$MEMCG/memory.limit_in_bytes" >"$OUT/cgroup-memory-limit/v1-unlimited.txt"

# 4. A Node process, for a non-Go status and smaps_rollup (and an environ value with '=').
"${CLEAN_ENV[@]}" NODE_OPTIONS=--max-old-space-size=64 \
  node -e 'console.log("READY"); setInterval(() => {}, 1000)' >"$WORK/node.out" &
node_pid=$!
pids+=("$node_pid")
wait_for "$WORK/node.out" '^READY$' >/dev/null
cat "/proc/$node_pid/status" >"$OUT/proc-status/node-process.txt"
cat "/proc/$node_pid/smaps_rollup" >"$OUT/smaps-rollup/node-process.txt"
cat "/proc/$node_pid/environ" >"$OUT/proc-environ/node-process.bin"
kill "$node_pid"
wait "$node_pid" 2>/dev/null || true

# 5. Processes without an address space: a zombie (a parent that never reaps) and kthreadd.
sh -c 'sleep 0 & exec sleep 3' &
parent=$!
pids+=("$parent")
zombie=''
for _ in $(seq 50); do
  zombie=$(ps --ppid "$parent" -o pid=,stat= | awk '$2 ~ /^Z/ { print $1 }')
  [[ -n $zombie ]] && break
  sleep 0.1
done
[[ -n $zombie ]] || { echo 'no zombie appeared' >&2; exit 1; }
cat "/proc/$zombie/status" >"$OUT/proc-status/zombie.txt"
cat /proc/2/status >"$OUT/proc-status/kernel-thread.txt"

cat /proc/sys/kernel/osrelease >"$OUT/kernel-release/this-machine.txt"

# Metadata the tests check against (the READY line, the socket inodes) and the README.
kernel=$(uname -r)
date=$(date -u +%Y-%m-%d)
go_version=$(go version | awk '{ print $3 }')
node_version=$(node --version)
cat >"$OUT/capture-proc.json" <<EOF
{
  "date": "$date",
  "kernel": "$kernel",
  "goVersion": "$go_version",
  "nodeVersion": "$node_version",
  "goReady": "$ready",
  "goSocketInodes": [$socket_inodes],
  "oomRunExitStatus": $oom_status
}
EOF

section=$WORK/readme-section.md
{
  echo '<!-- capture-proc-fixtures.sh: begin -->'
  cat <<EOF
## /proc and cgroup files

Captured by \`scripts/capture-proc-fixtures.sh\` on $date, kernel \`$kernel\` (x86_64),
$go_version, Node $node_version, as root. Do not edit these files by hand: re-run the script.
Each directory is named after the \`CaptureKind\` its files parse as; \`capture-proc.json\` holds
what the tests check against (the Go program's READY line and its socket inodes).

Every process was started under \`env -i\`, so no environment of the capturing shell is here.
The Go program is \`testprograms/procfixture/main.go\` (32 MiB live, 64 MiB returned to the OS,
listening on 127.0.0.1:0 and [::1]:0), run with
\`GODEBUG=madvdontneed=0,gctrace=0 GOGC=200 GOMEMLIMIT=200MiB GOMAXPROCS=2\`.

| file | how |
|---|---|
| proc-status/go-process.txt | \`cat /proc/PID/status\` of the Go program |
| proc-status/node-process.txt | same, of \`node -e 'setInterval(...)'\` |
| proc-status/zombie.txt | same, of an unreaped child: \`sh -c 'sleep 0 & exec sleep 3'\` |
| proc-status/kernel-thread.txt | \`cat /proc/2/status\` (kthreadd) |
| smaps-rollup/go-process-madvdontneed0.txt | \`cat /proc/PID/smaps_rollup\` of the Go program (LazyFree holds the returned 64 MiB) |
| smaps-rollup/node-process.txt | same, of the Node process |
| proc-environ/go-process.bin, node-process.bin | \`cat /proc/PID/environ\` (NUL-separated) |
| proc-cgroup/go-process-v1-hybrid.txt | \`cat /proc/PID/cgroup\` of the Go program: v1 controllers plus the v2 \`0::/\` line |
| proc-net-tcp/go-process-tcp.txt, go-process-tcp6.txt | \`cat /proc/PID/net/tcp\` and \`tcp6\` of the Go program (the whole network namespace) |
| cgroup-memory-*/v1-limited-256m.txt | the Go program's v1 memory cgroup, \`memory.limit_in_bytes\` set to 256 MiB: \`memory.stat\`, \`memory.usage_in_bytes\`, \`memory.limit_in_bytes\`, \`memory.failcnt\`, and \`memory.oom_control\` (in cgroup-memory-events/) |
| cgroup-memory-*/v1-after-oom-kill.txt, v1-limited-64m.txt | a 64 MiB v1 memory cgroup after the same program (96 MiB peak) was OOM-killed in it (exit status $oom_status) |
| cgroup-memory-limit/v1-unlimited.txt | \`memory.limit_in_bytes\` of the capturing shell's own cgroup (no limit set) |
| kernel-release/this-machine.txt | \`cat /proc/sys/kernel/osrelease\` |

No cgroup v2 memory files: on this machine the memory controller is bound to the v1 hierarchy
(\`/sys/fs/cgroup/memory\`); the v2 mount at \`/sys/fs/cgroup/unified\` offers only \`hugetlb\`
in \`cgroup.controllers\`, and \`echo +memory > cgroup.subtree_control\` fails with ENOENT.
The v2 parsers are tested on inline text built from the keys in the kernel's
Documentation/admin-guide/cgroup-v2.rst instead, and the tests say so.
EOF
  echo '<!-- capture-proc-fixtures.sh: end -->'
} >"$section"
# Replace this script's section of the README, or append it; the rest of the file stays as is.
readme=$OUT/README.md
[[ -f $readme ]] || printf '# Format fixtures\n\nReal captures the format tests parse.\n\n' >"$readme"
if grep -q '^<!-- capture-proc-fixtures.sh: begin -->$' "$readme"; then
  awk -v section="$section" '
    /^<!-- capture-proc-fixtures.sh: begin -->$/ { while ((getline line < section) > 0) print line; skip = 1; next }
    /^<!-- capture-proc-fixtures.sh: end -->$/ { skip = 0; next }
    !skip { print }
  ' "$readme" >"$WORK/readme" && cat "$WORK/readme" >"$readme"
else
  cat "$section" >>"$readme"
fi
echo "captured into $OUT (kernel $kernel)"
