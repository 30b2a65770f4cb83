package main

import (
	"runtime"
	"runtime/debug"
	"time"
)

// leakyWorker is the leaking goroutine, parked for good in "chan receive" with its request
// buffer, the stack group a goroutine profile should point at. Its reply channel is its own:
// the caller that made it has already given up and dropped it, so nothing else can ever send on
// or close it. That is what Go's goroutine leak profile (Go 1.27; 1.26 with
// GOEXPERIMENT=goroutineleakprofile) proves: a channel reachable from no runnable goroutine. A
// package-level channel would stay reachable from the globals, and the runtime could never call
// these goroutines leaked.
func leakyWorker(req []byte, reply <-chan struct{}) {
	<-reply
	runtime.KeepAlive(req)
}

// startLeakyWorker starts one leakyWorker on a channel that only it holds.
func startLeakyWorker() {
	go leakyWorker(make([]byte, 512), make(chan struct{}))
}

// poolWorker is the control's long-lived worker: parked in "chan receive" like leakyWorker, but
// it is handed work and its number stays fixed.
func poolWorker(jobs <-chan []byte) {
	for job := range jobs {
		job[0]++
	}
}

// shortTask is the control's short-lived goroutine: it starts, works and ends.
func shortTask(req []byte) {
	req[0]++
}

// runGoroutineLeak parks --goroutines leakyWorkers and adds --goroutines-per-sec more. The
// control runs a pool of --goroutines poolWorkers fed with jobs and starts and ends
// --goroutines-per-sec shortTasks: as many goroutines, a steady count. With --spike-mib given,
// it first allocates and frees that spike (runtime.GC + debug.FreeOSMemory, as
// madv-free-retention does), so that under GODEBUG=madvdontneed=0 the process shows two causes
// at once: a combined scenario for ranking.
func runGoroutineLeak(s *session) error {
	n, perSec := s.opt.goroutines, float64(s.opt.goroutinesPerSec)
	if s.opt.spikeGiven {
		spike := allocSpike(s.opt.spikeMiB*miB, spikePiece)
		runtime.KeepAlive(spike)
		spike = nil
		runtime.GC()
		debug.FreeOSMemory()
		ms := readMemStats()
		s.logf("spike of %d MiB freed: HeapReleased %d MiB, %s", s.opt.spikeMiB, ms.HeapReleased/miB,
			procMiB("/proc/self/smaps_rollup", "LazyFree"))
	}
	var jobs chan []byte
	if s.opt.control {
		jobs = make(chan []byte)
	}
	for i := 0; i < n; i++ {
		if s.opt.control {
			go poolWorker(jobs)
		} else {
			startLeakyWorker()
		}
	}
	debt := 0.0
	step := func(dt time.Duration) {
		for debt += perSec * dt.Seconds(); debt >= 1; debt-- {
			if s.opt.control {
				go shortTask(make([]byte, 512))
				select {
				case jobs <- make([]byte, 512):
				default: // all workers busy: skip, as a load shedder would
				}
			} else {
				startLeakyWorker()
			}
		}
	}
	// Established: the initial goroutines exist and one second of the steady trend (growth, or
	// none for the control) has passed.
	if !s.loop(nil, step, all(elapsed(time.Second), func() bool { return runtime.NumGoroutine() >= n })) {
		return nil
	}
	s.logf("%d goroutines", runtime.NumGoroutine())
	s.ready()
	s.loop(nil, step, nil)
	return nil
}
