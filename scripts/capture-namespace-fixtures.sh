#!/usr/bin/env bash
# Re-captures the mountinfo and cgroup files that proc-mountinfo.test.ts and cgroup.test.ts
# parse, into testdata/formats/proc-mountinfo/ and testdata/formats/proc-cgroup/: a target in
# its own PID, mount and cgroup namespaces (a container, its cgroup file system mounted rooted
# at its own cgroup, as container runtimes do) seen from the host and from a debug container
# (`kubectl debug --target`: the target's PID namespace, a mount and cgroup namespace of its own
# in a sibling cgroup).
#
# Linux, as root, cgroup v1 memory controller (two child cgroups of this shell's memory cgroup,
# removed afterwards). The target is `sleep`: only the kernel's view of it matters here.
#
# Usage: scripts/capture-namespace-fixtures.sh
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=testdata/formats
memcg_path=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
BASE=/sys/fs/cgroup/memory${memcg_path%/}/gomemdoctor-fixture-ns
mkdir -p "$BASE/target" "$BASE/debugger"
cleanup() {
  pkill -P "$unshare_pid" 2>/dev/null || true
  kill "$unshare_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rmdir "$BASE/target" "$BASE/debugger" "$BASE" 2>/dev/null || true
}
trap cleanup EXIT

# What a container runtime does inside the container: a fresh /sys/fs/cgroup with the memory
# hierarchy mounted in the container's cgroup namespace.
MOUNT_CGROUPFS='mount -t tmpfs cgroups /sys/fs/cgroup && mkdir /sys/fs/cgroup/memory && mount -t cgroup -o memory memory /sys/fs/cgroup/memory'

sh -c "echo \$\$ > $BASE/target/cgroup.procs && exec unshare --pid --cgroup --mount --fork --mount-proc sh -c '$MOUNT_CGROUPFS && exec sleep 60'" &
unshare_pid=$!
for _ in $(seq 50); do
  target=$(tr -d ' ' < "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null || true)
  [[ -n $target && $(readlink "/proc/$target/exe") == */sleep ]] && break
  sleep 0.1
done

mkdir -p "$OUT/proc-mountinfo"
cat /proc/self/mountinfo > "$OUT/proc-mountinfo/host.txt"
cat "/proc/$target/mountinfo" > "$OUT/proc-mountinfo/container-seen-from-host.txt"
cat "/proc/$target/cgroup" > "$OUT/proc-cgroup/container-seen-from-host.txt"
sh -c "echo \$\$ > $BASE/debugger/cgroup.procs && exec nsenter --target $target --pid -- unshare --mount --cgroup --fork --mount-proc sh -c '$MOUNT_CGROUPFS && cat /proc/1/mountinfo > $OUT/proc-mountinfo/container-seen-from-debug-container.txt && cat /proc/self/mountinfo > $OUT/proc-mountinfo/debug-container-self.txt && cat /proc/1/cgroup > $OUT/proc-cgroup/container-seen-from-debug-container.txt'"
echo "captured into $OUT/proc-mountinfo and $OUT/proc-cgroup (target host PID $target)"
