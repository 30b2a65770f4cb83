#!/usr/bin/env bash
# Regenerates every scenario's capture, and its control's, for one Go build:
#   bash scripts/capture-all.sh go1.26
# writes testdata/captures/<build>-linux<kernel>/. Run as root (cgroup-limit-risk makes a cgroup).
set -euo pipefail
cd "$(dirname "$0")/.."
go=${1:?usage: scripts/capture-all.sh <go build: go1.19, go1.26, go1.26-line1.24, go1.27>}
# scenario, seconds sampled: a window long enough for each detector's own rule.
while read -r scenario seconds controls; do
  node --import tsx scripts/capture.ts "$scenario" --go "$go" --seconds "$seconds"
  [ "$controls" = no-control ] ||
    node --import tsx scripts/capture.ts "$scenario" --go "$go" --control --seconds "$seconds"
done <<'TABLE'
cgroup-limit-risk 5
file-mapped 4
fragmentation 5
gc-heap-goal 5
goroutine-leak 6
healthy 5 no-control
heap-growth 6
madv-free-retention 5
non-go-memory 4
scavenger-lag 5
thp-bloat 4
TABLE
