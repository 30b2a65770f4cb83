#!/usr/bin/env bash
# Captures a Go 1.26 process's /proc/self/smaps WITH the runtime's mapping names ([anon: Go: heap],
# …), the same program under GODEBUG=decoratemappings=0 on the same kernel (no names), and under
# Go 1.25.1 (names what it maps after GODEBUG is parsed, not what it mapped before: golang/go#75324), into
# testdata/formats/{proc-smaps,smaps-rollup,proc-status,expvar}/go1.2*-vm-*, plus
# capture-named-mappings.json and its own section of README.md there.
#
# Why a virtual machine: the runtime names anonymous memory only where the kernel keeps such names
# (Linux ≥ 5.17 built with CONFIG_ANON_VMA_NAME). The project's machines run a kernel without it,
# and so do Debian's own kernel packages (6.1 and 6.12, generic, cloud and rt: checked in their
# /boot/config-*). So this script builds a minimal kernel that has it from Debian's
# linux-source-6.12 (tinyconfig plus what a static Go program and /proc/PID/smaps need; about
# 3 minutes on 2 cores, kept in build/named-mappings-vm/ for the next run), boots it in qemu with
# testprograms/vminit (static, from a go 1.26 module) as /init of an initramfs, and splits what
# that program prints on the serial console into files. The machine runs under qemu's TCG
# emulator: nested KVM on the project's machines fails (an emulation failure in the kernel's
# decompressor with -cpu host, no output at all with -cpu qemu64).
#
# Nothing fetched or built is committed: only the captured text.
#
# Needs root (apt-get installs what is missing: qemu-system-x86, linux-source-6.12 and the
# kernel's build tools) and a Go ≥ 1.21 on PATH (GOTOOLCHAIN selects Go 1.26.8 and 1.25.1, fetched
# through the module proxy).
#
# Usage: scripts/capture-named-mappings.sh
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=testdata/formats
CACHE=build/named-mappings-vm
GO_VERSION=go1.26.8
GO_125=go1.25.1
KERNEL_SOURCE_PACKAGE=linux-source-6.12
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
for pkg in "$KERNEL_SOURCE_PACKAGE" build-essential flex bison bc libelf-dev libssl-dev cpio xz-utils; do
  dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if ((${#need[@]} > 0)); then
  echo "installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2
fi

# The kernel: tinyconfig, then the options below. What each is for:
#   ANON_VMA_NAME (needs ADVISE_SYSCALLS, PROC_FS): prctl(PR_SET_VMA_ANON_NAME), the whole point;
#   PROC_PAGE_MONITOR: /proc/PID/smaps and smaps_rollup; FUTEX, EPOLL, EVENTFD, TIMERFD, SIGNALFD,
#   POSIX_TIMERS: what the Go runtime calls; TRANSPARENT_HUGEPAGE (madvise, as on the project's
#   machines): the AnonHugePages fields; SERIAL_8250_CONSOLE, PRINTK, TTY: the console the program
#   prints to; BLK_DEV_INITRD, BINFMT_ELF: to run it at all.
kernel_version=$(dpkg-query -W -f '${Version}' "$KERNEL_SOURCE_PACKAGE")
fragment=$WORK/named-mappings.config
cat >"$fragment" <<'EOF'
CONFIG_64BIT=y
CONFIG_SMP=y
CONFIG_PRINTK=y
CONFIG_TTY=y
CONFIG_SERIAL_8250=y
CONFIG_SERIAL_8250_CONSOLE=y
CONFIG_BLK_DEV_INITRD=y
CONFIG_BINFMT_ELF=y
CONFIG_PROC_FS=y
CONFIG_PROC_PAGE_MONITOR=y
CONFIG_SYSFS=y
CONFIG_MULTIUSER=y
CONFIG_FUTEX=y
CONFIG_EPOLL=y
CONFIG_EVENTFD=y
CONFIG_TIMERFD=y
CONFIG_SIGNALFD=y
CONFIG_POSIX_TIMERS=y
CONFIG_SHMEM=y
CONFIG_ADVISE_SYSCALLS=y
CONFIG_ANON_VMA_NAME=y
CONFIG_TRANSPARENT_HUGEPAGE=y
CONFIG_TRANSPARENT_HUGEPAGE_MADVISE=y
EOF
stamp="$kernel_version $(sha256sum "$fragment" | cut -c1-16)"
bzimage=$CACHE/bzImage
mkdir -p "$CACHE"
if [[ ! -f $bzimage || "$(cat "$CACHE/bzImage.stamp" 2>/dev/null)" != "$stamp" ]]; then
  echo "building a minimal kernel from $KERNEL_SOURCE_PACKAGE $kernel_version (a few minutes)" >&2
  rm -rf "$CACHE/linux"
  mkdir -p "$CACHE/linux"
  tar -xJf "/usr/src/$KERNEL_SOURCE_PACKAGE.tar.xz" -C "$CACHE/linux" --strip-components=1
  (
    cd "$CACHE/linux"
    make -s tinyconfig >/dev/null
    scripts/kconfig/merge_config.sh -m .config "$fragment" >/dev/null
    make -s olddefconfig >/dev/null
    for option in ANON_VMA_NAME PROC_PAGE_MONITOR SERIAL_8250_CONSOLE BLK_DEV_INITRD FUTEX; do
      grep -q "^CONFIG_$option=y$" .config || { echo "the kernel config lost CONFIG_$option" >&2; exit 1; }
    done
    make -s -j"$(nproc)" bzImage >"$WORK/kernel-build.log" 2>&1 || {
      tail -20 "$WORK/kernel-build.log" >&2
      exit 1
    }
  )
  cp "$CACHE/linux/arch/x86/boot/bzImage" "$bzimage"
  echo "$stamp" >"$CACHE/bzImage.stamp"
fi
kernel_release=$(cat "$CACHE/linux/include/config/kernel.release" 2>/dev/null || echo unknown)

# /init: static, so the initramfs holds nothing but it and the directories it mounts on.
# initramfs GO GOLINE: builds testprograms/vminit with that Go from a copy of its module whose go
# line is GOLINE (which sets the binary's DefaultGODEBUG), and packs it; prints the cpio's path.
initramfs() {
  local go=$1 goline=$2 dir=$WORK/$1
  mkdir -p "$dir/src" "$dir/root/proc" "$dir/root/sys" "$dir/root/dev"
  cp testprograms/vminit/main.go "$dir/src/"
  printf 'module vminit\n\ngo %s\n' "$goline" >"$dir/src/go.mod"
  (cd "$dir/src" && CGO_ENABLED=0 GOTOOLCHAIN=$go go build -trimpath -o "$dir/root/init" .)
  local built_with
  built_with=$(GOTOOLCHAIN=$go go version "$dir/root/init" | awk '{ print $2 }')
  [[ $built_with == "$go" ]] || { echo "built with $built_with, not $go" >&2; exit 1; }
  (cd "$dir/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$dir/initramfs.cpio"
  echo "$dir/initramfs.cpio"
}
qemu_version=$(qemu-system-x86_64 --version | head -1 | awk '{ print $4 }')

# boot NAME INITRAMFS GODEBUG: one machine; the kernel passes GODEBUG=… on its command line to
# /init's environment, so the runtime sees it at start-up, as decoratemappings requires. NAME is
# the captured files' name.
boot() {
  local name=$1 cpio=$2 godebug=$3 log=$WORK/$1.console
  local append='console=ttyS0 quiet loglevel=0 panic=-1'
  [[ -n $godebug ]] && append+=" GODEBUG=$godebug"
  timeout 600 qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -nographic -no-reboot -monitor none \
    -kernel "$bzimage" -initrd "$cpio" -append "$append" </dev/null >"$log" 2>&1 || true
  tr -d '\r' <"$log" >"$log.txt"
  grep -q 'VMINIT DONE$' "$log.txt" || {
    echo "$name: the machine did not finish; its console:" >&2
    tail -30 "$log.txt" >&2
    exit 1
  }
  # section FILE: the lines between VMINIT BEGIN FILE and VMINIT END FILE. A marker is matched at
  # the line's end: the first one follows the firmware's terminal escapes on the same line.
  section() {
    awk -v name="$1" '
      function ends(s, suffix) { return substr(s, length(s) - length(suffix) + 1) == suffix }
      ends($0, "VMINIT END " name) { on = 0 }
      on { print }
      ends($0, "VMINIT BEGIN " name) { on = 1 }
    ' "$log.txt"
  }
  section smaps >"$OUT/proc-smaps/$name.txt"
  section smaps_rollup >"$OUT/smaps-rollup/$name.txt"
  section status >"$OUT/proc-status/$name.txt"
  section vars.json >"$OUT/expvar/$name.json"
  section info.json >"$WORK/$name.info.json"
  [[ -s $WORK/$name.info.json ]] || { echo "$name: no info.json section on the console" >&2; exit 1; }
  runs+=("$name")
  echo "$name: $(grep -c '\[anon: Go: ' "$OUT/proc-smaps/$name.txt" || true) named Go mappings" >&2
}

mkdir -p "$OUT/proc-smaps" "$OUT/smaps-rollup" "$OUT/proc-status" "$OUT/expvar"
rm -f "$OUT"/{proc-smaps,smaps-rollup,proc-status}/go*-vm-*.txt "$OUT"/expvar/go*-vm-*.json
runs=()
current=$(initramfs "$GO_VERSION" 1.26)
boot "$GO_VERSION-vm-named" "$current" ''
boot "$GO_VERSION-vm-named-madvdontneed0" "$current" 'madvdontneed=0'
boot "$GO_VERSION-vm-decoratemappings0" "$current" 'decoratemappings=0'
# Go 1.25.1 parsed GODEBUG after mallocinit, so what it mapped before (the first heap chunk,
# early metadata) stays unnamed (golang/go#75324, fixed in 1.25.2).
early=$(initramfs "$GO_125" 1.25)
boot "$GO_125-vm-named" "$early" ''

date=$(date -u +%Y-%m-%d)
{
  echo '{'
  echo "  \"date\": \"$date\","
  echo "  \"kernelSource\": \"$KERNEL_SOURCE_PACKAGE $kernel_version\","
  echo "  \"kernelRelease\": \"$kernel_release\","
  echo "  \"qemu\": \"$qemu_version\","
  echo '  "runs": {'
  for i in "${!runs[@]}"; do
    comma=,
    ((i == ${#runs[@]} - 1)) && comma=
    echo "    \"${runs[$i]}\": $(cat "$WORK/${runs[$i]}.info.json")$comma"
  done
  echo '  }'
  echo '}'
} >"$OUT/capture-named-mappings.json"

section=$WORK/readme-section.md
{
  echo '<!-- capture-named-mappings.sh: begin -->'
  cat <<EOF
## Named mappings (Go ≥ 1.25 on a kernel with CONFIG_ANON_VMA_NAME)

Captured by \`scripts/capture-named-mappings.sh\` on $date in a qemu $qemu_version virtual machine
(TCG, 1 GiB, 2 CPUs) booting Linux $kernel_release, built by the script from Debian's
\`$KERNEL_SOURCE_PACKAGE\` $kernel_version with \`CONFIG_ANON_VMA_NAME=y\` (this machine's kernel
and Debian's kernel packages lack it, so the runtime's names never appear here). Do not edit these
files by hand: re-run the script. \`capture-named-mappings.json\` holds each run's Go version,
kernel, THP mode and GODEBUG as the program itself read them.

The program is \`testprograms/vminit\`, /init of the machine, static: $GO_VERSION from a
\`go 1.26\` module (DefaultGODEBUG keeps \`decoratemappings=1\`), and $GO_125 from a \`go 1.25\`
module. It keeps 32 MiB live, frees a 256 MiB spike of 256 KiB pieces and returns it
(\`runtime.GC\` + \`debug.FreeOSMemory\`), parks 200 goroutines, and maps 16 MiB with
\`syscall.Mmap\` itself (anonymous memory the runtime did not allocate). It then reads
\`runtime.ReadMemStats\`, \`/proc/self/smaps\`, \`smaps_rollup\` and \`status\`, in that order.

| files (\`<kind>/<name>.txt\`, expvar \`.json\`) | run |
|---|---|
| \`$GO_VERSION-vm-named\` | GODEBUG unset: every Go mapping named (\`[anon: Go: heap]\`, \`heap reservation\`, \`immortal metadata\`, …) |
| \`$GO_VERSION-vm-named-madvdontneed0\` | \`GODEBUG=madvdontneed=0\`: the same, the spike released with MADV_FREE (LazyFree in \`[anon: Go: heap]\`) |
| \`$GO_VERSION-vm-decoratemappings0\` | \`GODEBUG=decoratemappings=0\`: the same program on the same kernel, no names |
| \`$GO_125-vm-named\` | GODEBUG unset, $GO_125: what was mapped before GODEBUG was parsed (the first 4 MiB heap chunk, early metadata) is unnamed, the rest named (golang/go#75324) |

In each, \`proc-smaps/\` is \`/proc/self/smaps\`, \`smaps-rollup/\` is \`/proc/self/smaps_rollup\`,
\`proc-status/\` is \`/proc/self/status\`, and \`expvar/\` is \`{"cmdline", "memstats"}\` as
\`/debug/vars\` serves it (\`json.Marshal\` of \`runtime.MemStats\`, as expvar does).
EOF
  echo '<!-- capture-named-mappings.sh: end -->'
} >"$section"
readme=$OUT/README.md
if grep -q '^<!-- capture-named-mappings.sh: begin -->$' "$readme"; then
  awk -v section="$section" '
    /^<!-- capture-named-mappings.sh: begin -->$/ { while ((getline line < section) > 0) print line; skip = 1; next }
    /^<!-- capture-named-mappings.sh: end -->$/ { skip = 0; next }
    !skip { print }
  ' "$readme" >"$WORK/readme" && cat "$WORK/readme" >"$readme"
else
  printf '\n' >>"$readme"
  cat "$section" >>"$readme"
fi
echo "captured into $OUT (Linux $kernel_release in qemu, $GO_VERSION)"
