// vminit is /init of a throwaway virtual machine whose kernel keeps names for anonymous memory
// (CONFIG_ANON_VMA_NAME), which the project's own machines lack: scripts/capture-named-mappings.sh
// boots it to capture what a Go ≥ 1.25 process's /proc/self/smaps looks like with the runtime's
// mapping names ([anon: Go: heap], …), and without them under GODEBUG=decoratemappings=0.
//
// Standard library only, built static (CGO_ENABLED=0) from a go 1.26 module, so its
// DefaultGODEBUG keeps decoratemappings on. The kernel hands init the command line's unknown
// key=value words as environment variables: GODEBUG arrives that way, before the runtime starts,
// which is when the runtime reads decoratemappings.
//
// The workload is memsick's madv-free-retention and heap scenarios, smaller: a steady live heap,
// a spike of 256 KiB pieces dropped and returned to the OS (runtime.GC + debug.FreeOSMemory),
// goroutines parked on a channel (stacks), and one anonymous mapping of its own (syscall.Mmap),
// memory the runtime did not allocate. Then it prints, between marker lines, its smaps,
// smaps_rollup, status and runtime.MemStats (as /debug/vars would: expvar's JSON), and reboots,
// which ends the machine (qemu -no-reboot; the kernel has no ACPI to power off with).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"
)

const miB = 1 << 20

const (
	liveMiB    = 32
	spikeMiB   = 256
	spikePiece = 256 << 10
	// nonGoMiB is mapped with mmap(2) directly: anonymous memory outside every Go mapping.
	nonGoMiB   = 16
	goroutines = 200
)

var pageSize = os.Getpagesize()

func touch(b []byte) {
	for i := 0; i < len(b); i += pageSize {
		b[i] = 1
	}
}

func alloc(total, piece int) [][]byte {
	pieces := make([][]byte, 0, total/piece+1)
	for done := 0; done < total; done += piece {
		b := make([]byte, piece)
		touch(b)
		pieces = append(pieces, b)
	}
	return pieces
}

func main() {
	if err := run(); err != nil {
		fmt.Println("VMINIT ERROR:", err)
	}
	// As PID 1, returning would panic the kernel.
	if err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_RESTART); err != nil {
		fmt.Println("VMINIT ERROR: reboot:", err)
		time.Sleep(time.Hour)
	}
}

func run() error {
	for _, m := range []struct{ source, target, fstype string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
	} {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return err
		}
		if err := syscall.Mount(m.source, m.target, m.fstype, 0, ""); err != nil {
			return fmt.Errorf("mount %s: %w", m.target, err)
		}
	}

	live := alloc(liveMiB*miB, 16<<10)
	spike := alloc(spikeMiB*miB, spikePiece)
	runtime.KeepAlive(spike)
	spike = nil
	runtime.GC()
	debug.FreeOSMemory()

	park := make(chan struct{})
	for range goroutines {
		go func() { <-park }()
	}
	nonGo, err := syscall.Mmap(-1, 0, nonGoMiB*miB, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return fmt.Errorf("mmap: %w", err)
	}
	touch(nonGo)
	time.Sleep(200 * time.Millisecond) // let the parked goroutines start

	// The runtime view first, then the kernel's, as gomemdoctor reads them: close together, and
	// nothing allocated in between but the reads themselves.
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return err
	}
	rollup, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return err
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	memstats, err := json.Marshal(&ms)
	if err != nil {
		return err
	}
	vars := fmt.Sprintf("{\n\"cmdline\": [\"/init\"],\n\"memstats\": %s\n}\n", memstats)

	release, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	thp, _ := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	info, err := json.Marshal(map[string]string{
		"goVersion":  runtime.Version(),
		"kernel":     string(trimNewline(release)),
		"thpEnabled": string(trimNewline(thp)),
		"GODEBUG":    os.Getenv("GODEBUG"),
	})
	if err != nil {
		return err
	}
	section("info.json", append(info, '\n'))
	section("smaps", smaps)
	section("smaps_rollup", rollup)
	section("status", status)
	section("vars.json", []byte(vars))
	fmt.Println("VMINIT DONE")
	runtime.KeepAlive(live)
	runtime.KeepAlive(nonGo)
	close(park)
	return nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// section prints one captured file between marker lines the capture script splits on.
func section(name string, body []byte) {
	fmt.Printf("VMINIT BEGIN %s\n", name)
	os.Stdout.Write(body)
	if len(body) > 0 && body[len(body)-1] != '\n' {
		fmt.Println()
	}
	fmt.Printf("VMINIT END %s\n", name)
}
