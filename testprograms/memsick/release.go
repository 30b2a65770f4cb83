package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// spikePiece is the piece size of the spikes: 256 KiB objects are large objects with their own
// spans, so a dropped spike leaves whole free spans, as a freed batch buffer does.
const spikePiece = 256 << 10

// runMadvFreeRetention allocates a spike, drops it, and has the runtime return it to the OS at
// once (runtime.GC + debug.FreeOSMemory). Under GODEBUG=madvdontneed=0 Go 1.19 returns memory
// with MADV_FREE, so the pages stay resident (LazyFree in smaps_rollup) until the kernel needs
// them; under madvdontneed=1 (Go 1.19's Linux default) it uses MADV_DONTNEED and RSS drops.
// The launcher sets GODEBUG, not this program: the control is the same workload run under
// madvdontneed=1, and --control only changes the READY line.
func runMadvFreeRetention(s *session) error {
	if godebug := os.Getenv("GODEBUG"); !s.opt.control && !strings.Contains(godebug, "madvdontneed=0") {
		s.logf("note: GODEBUG=%q: without madvdontneed=0 the runtime uses MADV_DONTNEED and RSS drops", godebug)
	}
	h := newSteadyHeap(orInt(s.opt.liveMiB, 16)*miB, 16<<10)
	spike := allocSpike(s.opt.spikeMiB*miB, spikePiece)
	runtime.KeepAlive(spike)
	spike = nil
	runtime.GC()
	debug.FreeOSMemory()
	ms := readMemStats()
	s.logf("after FreeOSMemory: HeapIdle %d MiB, HeapReleased %d MiB, %s, %s", ms.HeapIdle/miB, ms.HeapReleased/miB,
		procMiB("/proc/self/status", "VmRSS"), procMiB("/proc/self/smaps_rollup", "LazyFree"))
	if want := uint64(s.opt.spikeMiB) * miB * 9 / 10; ms.HeapReleased < want {
		return fmt.Errorf("HeapReleased is %d MiB, want at least %d MiB", ms.HeapReleased/miB, want/miB)
	}
	s.ready()
	// Light churn, so the process looks like a service; it reuses a few MiB of the spike.
	s.loop(newChurner(h, orInt(s.opt.churnMiBPerSec, 4)), nil, nil)
	return nil
}

// runScavengerLag allocates a spike and drops it, and a GC cycle frees it, but nobody calls
// debug.FreeOSMemory: the memory is idle and still resident (HeapIdle-HeapReleased large) until
// the background scavenger returns it. That scavenger is paced at 1% of one CPU (scavengePercent
// in runtime/mgcscavenge.go, go1.19), which measured here returns 1 GiB in about 5-6 s, in bursts.
// A single spike would therefore fade within seconds, so the spike repeats every
// --respike-every (a periodic batch job), which keeps the idle heap large for as long as the
// scenario runs. --respike-every 0 spikes once, to watch the scavenger catch up.
// The control calls debug.FreeOSMemory after each spike.
func runScavengerLag(s *session) error {
	spikeBytes := uint64(s.opt.spikeMiB) * miB
	c := newChurner(newSteadyHeap(orInt(s.opt.liveMiB, 16)*miB, 16<<10), orInt(s.opt.churnMiBPerSec, 4))
	for first := true; ; first = false {
		spike := allocSpike(s.opt.spikeMiB*miB, spikePiece)
		runtime.KeepAlive(spike)
		spike = nil
		runtime.GC()
		if s.opt.control {
			debug.FreeOSMemory()
		}
		if first {
			ms := readMemStats()
			idle := ms.HeapIdle - ms.HeapReleased
			s.logf("after the spike: HeapIdle %d MiB, HeapReleased %d MiB, %s", ms.HeapIdle/miB, ms.HeapReleased/miB,
				procMiB("/proc/self/status", "VmRSS"))
			if !s.opt.control && idle < spikeBytes*3/4 {
				return fmt.Errorf("HeapIdle-HeapReleased is only %d MiB", idle/miB)
			}
			if s.opt.control && idle > spikeBytes/10 {
				return fmt.Errorf("control: HeapIdle-HeapReleased is %d MiB", idle/miB)
			}
			s.ready()
		}
		if s.opt.respikeEvery == 0 {
			s.loop(c, nil, nil)
			return nil
		}
		if !s.loop(c, nil, elapsed(s.opt.respikeEvery)) {
			return nil
		}
	}
}
