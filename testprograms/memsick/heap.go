package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"time"
)

// runHealthy keeps a steady live heap with churn: what every detector must stay quiet on.
func runHealthy(s *session) error {
	live, churn := orInt(s.opt.liveMiB, 50), orInt(s.opt.churnMiBPerSec, 50)
	if s.opt.large {
		live, churn = orInt(s.opt.liveMiB, 1024), orInt(s.opt.churnMiBPerSec, 256)
	}
	h := newSteadyHeap(live*miB, s.opt.objectBytes)
	c := newChurner(h, churn)
	// A service that has run for a while has been through GC cycles; one forced cycle here puts
	// the heap goal where steady state has it, instead of where start-up growth left it.
	runtime.GC()
	// Established: steady state, one whole GC cycle after the forced one (about 4 s with
	// --large, where churn takes that long to fill the 1 GiB of headroom GOGC=100 gives).
	if !s.loop(c, nil, all(elapsed(time.Second), gcsSince(1))) {
		return nil
	}
	s.ready()
	s.loop(c, nil, nil)
	return nil
}

// leaked holds everything leakyCache ever stored: nothing is evicted.
var leaked [][]byte

// leakyCache is the leak's allocation site, the name a heap profile diff should point at.
func leakyCache(size int) {
	b := make([]byte, size)
	touch(b)
	leaked = append(leaked, b)
}

// runHeapGrowth grows the live heap steadily through leakyCache, with churn around it. The
// control has a larger steady heap and heavier churn, so its sawtooth is bigger, but it does
// not grow.
func runHeapGrowth(s *session) error {
	if s.opt.control {
		h := newSteadyHeap(orInt(s.opt.liveMiB, 256)*miB, 16<<10)
		c := newChurner(h, orInt(s.opt.churnMiBPerSec, 128))
		runtime.GC()
		if !s.loop(c, nil, elapsed(2*time.Second)) {
			return nil
		}
		s.ready()
		s.loop(c, nil, nil)
		return nil
	}
	rate := s.opt.leakMiBPerSec
	if rate == 0 {
		rate = 2
	}
	const entry = 4 << 10
	h := newSteadyHeap(orInt(s.opt.liveMiB, 32)*miB, 16<<10)
	c := newChurner(h, orInt(s.opt.churnMiBPerSec, 32))
	runtime.GC()
	debt := 0.0
	leak := func(dt time.Duration) {
		for debt += rate * miB * dt.Seconds(); debt >= entry; debt -= entry {
			leakyCache(entry)
		}
	}
	// Established: two seconds of leaking, spanning at least two GC cycles, so the live heap
	// after GC has visibly risen.
	if !s.loop(c, leak, all(elapsed(2*time.Second), gcsSince(2))) {
		return nil
	}
	s.ready()
	s.loop(c, leak, nil)
	return nil
}

// runGCHeapGoal raises GOGC in code, as services do with debug.SetGCPercent, so the heap goal
// (NextGC) is many times the live heap and RSS follows the goal. Nothing shows in
// /proc/PID/environ: a detector has to compare NextGC with the live heap.
func runGCHeapGoal(s *session) error {
	gogc := s.opt.gogc
	if s.opt.control {
		gogc = 100
	}
	debug.SetGCPercent(gogc)
	s.logf("debug.SetGCPercent(%d)", gogc)
	h := newSteadyHeap(orInt(s.opt.liveMiB, 64)*miB, 16<<10)
	c := newChurner(h, orInt(s.opt.churnMiBPerSec, 256))
	runtime.GC()
	// Established: the heap has grown to the goal and been collected at least once since.
	if !s.loop(c, nil, all(elapsed(time.Second), gcsSince(1))) {
		return nil
	}
	s.ready()
	s.loop(c, nil, nil)
	return nil
}

// fragmentHeld keeps the fragmentation scenario's surviving objects alive.
var fragmentHeld [][]byte

// fragmentedObject is the allocation site of the fragmenting objects.
func fragmentedObject() []byte {
	b := make([]byte, 1024)
	b[0] = 1
	return b
}

// runFragmentation allocates --spike-mib of 1 KiB objects (size class 1024: 8 per 8 KiB span)
// in one goroutine, so consecutive objects share spans, then keeps one object in eight. Every
// span keeps one live object, so no span can be freed: HeapInuse stays at the spike while
// HeapAlloc drops to an eighth. The control keeps the same number of objects, but the first
// eighth allocated, so the other spans empty completely and go back to the OS.
// debug.FreeOSMemory runs in both, so the control shows no idle heap either.
func runFragmentation(s *session) error {
	n := s.opt.spikeMiB * miB / 1024
	objs := make([][]byte, n)
	for i := range objs {
		objs[i] = fragmentedObject()
	}
	fragmentHeld = make([][]byte, 0, n/8+1)
	for i := range objs {
		if (s.opt.control && i < n/8) || (!s.opt.control && i%8 == 0) {
			fragmentHeld = append(fragmentHeld, objs[i])
		}
	}
	objs = nil
	runtime.GC()
	debug.FreeOSMemory()
	ms := readMemStats()
	gap := ms.HeapInuse - ms.HeapAlloc
	s.logf("HeapInuse %d MiB, HeapAlloc %d MiB", ms.HeapInuse/miB, ms.HeapAlloc/miB)
	spike := uint64(s.opt.spikeMiB) * miB
	if !s.opt.control && gap < spike/2 {
		return fmt.Errorf("HeapInuse-HeapAlloc is only %d MiB", gap/miB)
	}
	if s.opt.control && gap > spike/10 {
		return fmt.Errorf("control: HeapInuse-HeapAlloc is %d MiB", gap/miB)
	}
	s.ready()
	// Churn in size classes other than 1024, so the holes stay holes.
	c := newChurner(nil, orInt(s.opt.churnMiBPerSec, 8))
	c.sizes = []int{4096, 8192, 16 << 10}
	s.loop(c, nil, nil)
	return nil
}
