package main

import (
	"time"
	"unsafe"
)

// cHeld keeps every block the non-go-memory scenario allocated with C.malloc.
var cHeld []unsafe.Pointer

// runNonGoMemory allocates 256 MiB with C.malloc (cgo_leak.go), then --leak-mib-per-sec more,
// every page touched and never freed: RSS grows while the Go runtime's Sys stays flat. The
// control mallocs, touches and frees the same amount per second, retaining nothing.
func runNonGoMemory(s *session) error {
	if !cgoBuild {
		_, err := cMalloc(0)
		return err
	}
	const block = miB
	rate := s.opt.leakMiBPerSec
	if rate == 0 {
		rate = 8
	}
	var stepErr error
	debt := 0.0
	step := func(dt time.Duration) {
		for debt += rate * miB * dt.Seconds(); debt >= block && stepErr == nil; debt -= block {
			p, err := cMalloc(block)
			if err != nil {
				stepErr = err
				return
			}
			if s.opt.control {
				cFree(p)
			} else {
				cHeld = append(cHeld, p)
			}
		}
	}
	if !s.opt.control {
		for i := 0; i < orInt(s.opt.liveMiB, 256); i++ {
			p, err := cMalloc(block)
			if err != nil {
				return err
			}
			cHeld = append(cHeld, p)
		}
	}
	failed := func() bool { return stepErr != nil }
	// Established: one second of the trend (growth, or none for the control).
	oneSecond := elapsed(time.Second)
	if !s.loop(nil, step, func() bool { return failed() || oneSecond() }) {
		return nil
	}
	if stepErr != nil {
		return stepErr
	}
	s.ready()
	s.loop(nil, step, failed)
	return stepErr
}
