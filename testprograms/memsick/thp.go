package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// Linux madvise advice values (include/uapi/asm-generic/mman-common.h); syscall has neither.
const (
	madvHugepage = 14
	madvCollapse = 25 // Linux ≥ 6.1
)

// thpPiece is one large-object span; keeping one in 32 leaves one in-use span per 2 MiB.
const thpPiece = 64 << 10

// thpHeld keeps the pieces of the thp-bloat heap alive.
var thpHeld [][]byte

// runTHPBloat makes transparent huge pages hold heap memory the runtime has released: it
// allocates --spike-mib in 64 KiB pieces, keeps one in 32 (one in-use span per 2 MiB huge
// page), collects and releases the rest (debug.FreeOSMemory), then does to the heap what the Go
// 1.21.1-1.21.5 runtime and khugepaged together do on a THP "always" machine with
// max_ptes_none 511: it marks the heap MADV_HUGEPAGE, as those Go versions leave it, and
// collapses it into huge pages with MADV_COLLAPSE, as khugepaged would within minutes. Each
// collapse fills the released 4 KiB pages around the one in-use span with zeroes, so RSS returns
// to the spike's size while HeapReleased still counts the memory as returned.
//
// Go 1.19 itself guards against this (sysUnusedOS sets MADV_NOHUGEPAGE on huge pages it
// releases part of), and this machine's THP mode is "madvise", so the runtime cannot be made to
// bloat on its own here; the kernel mechanism and the resulting RSS are real. The control keeps
// every piece and collapses the same way: huge pages backing a heap that uses them, not bloat.
func runTHPBloat(s *session) error {
	pieces := allocSpike(s.opt.spikeMiB*miB, thpPiece)
	if s.opt.control {
		thpHeld = pieces
	} else {
		for i := range pieces {
			if i%32 == 0 {
				thpHeld = append(thpHeld, pieces[i])
			}
		}
	}
	pieces = nil
	runtime.GC()
	debug.FreeOSMemory()
	ms := readMemStats()
	s.logf("before collapsing: HeapInuse %d MiB, HeapReleased %d MiB, %s, %s", ms.HeapInuse/miB,
		ms.HeapReleased/miB, procMiB("/proc/self/status", "VmRSS"), procMiB("/proc/self/smaps_rollup", "AnonHugePages"))
	collapsed, err := collapseGoHeap()
	if err != nil {
		return err
	}
	huge, _ := procBytes("/proc/self/smaps_rollup", "AnonHugePages")
	ms = readMemStats()
	s.logf("collapsed %d MiB: HeapInuse %d MiB, HeapReleased %d MiB, %s, AnonHugePages %d MiB", collapsed/miB,
		ms.HeapInuse/miB, ms.HeapReleased/miB, procMiB("/proc/self/status", "VmRSS"), huge/miB)
	if want := uint64(s.opt.spikeMiB) * miB * 8 / 10; huge < want {
		return fmt.Errorf("AnonHugePages is %d MiB after MADV_COLLAPSE, want at least %d MiB (needs Linux ≥ 6.1, THP not \"never\")", huge/miB, want/miB)
	}
	s.ready()
	<-s.ctx.Done()
	runtime.KeepAlive(thpHeld)
	return nil
}

// collapseGoHeap applies MADV_HUGEPAGE and MADV_COLLAPSE to the runtime's heap mappings: the
// read-write private mappings that hold the pieces in thpHeld. They are found by the pieces' own
// addresses, not by where the heap used to start (0xc000000000 up to Go 1.25; Go 1.26
// randomises the heap base). Each 2 MiB huge page is collapsed on its own: one call for a whole
// mapping stops at the first huge page that cannot be collapsed just now (EINVAL for a page
// another thread holds, seen in about half the runs on Go 1.26), leaving the rest untouched. It
// returns the bytes collapsed.
func collapseGoHeap() (uint64, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	const hugePage = 2 << 20
	var total uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[1] != "rw-p" {
			continue
		}
		start, end, ok := strings.Cut(fields[0], "-")
		lo, err1 := strconv.ParseUint(start, 16, 64)
		hi, err2 := strconv.ParseUint(end, 16, 64)
		if !ok || err1 != nil || err2 != nil || !holdsPiece(lo, hi) {
			continue
		}
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(lo), uintptr(hi-lo), madvHugepage); e != 0 {
			return total, fmt.Errorf("madvise(MADV_HUGEPAGE): %w", e)
		}
		for page := (lo + hugePage - 1) &^ (hugePage - 1); page+hugePage <= hi; page += hugePage {
			switch _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(page), hugePage, madvCollapse); e {
			case 0:
				total += hugePage
			case syscall.EINVAL, syscall.EAGAIN, syscall.EBUSY:
				// This huge page cannot be collapsed now (or Linux is older than 6.1); the
				// caller checks AnonHugePages, which is what counts.
			default:
				return total, fmt.Errorf("madvise(MADV_COLLAPSE): %w", e)
			}
		}
	}
	return total, sc.Err()
}

// holdsPiece says whether [lo, hi) holds any of the pieces kept in thpHeld: the heap arena.
func holdsPiece(lo, hi uint64) bool {
	for _, p := range thpHeld {
		if a := uint64(uintptr(unsafe.Pointer(&p[0]))); a >= lo && a < hi {
			return true
		}
	}
	return false
}
