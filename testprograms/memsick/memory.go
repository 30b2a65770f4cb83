package main

import (
	"os"
	"runtime"
	"time"
)

const miB = 1 << 20

var pageSize = os.Getpagesize()

// touch writes one byte per page so every page of b is resident. Large objects carved from
// fresh memory are not zeroed by the runtime, so without this they would cost no RSS.
func touch(b []byte) {
	for i := 0; i < len(b); i += pageSize {
		b[i] = 1
	}
	if len(b) > 0 {
		b[len(b)-1] = 1
	}
}

// allocSpike allocates total bytes as pieces of piece bytes, every page touched: a transient
// working set such as a big request, a batch job or a cache rebuild.
func allocSpike(total, piece int) [][]byte {
	pieces := make([][]byte, 0, total/piece+1)
	for done := 0; done < total; done += piece {
		b := make([]byte, piece)
		touch(b)
		pieces = append(pieces, b)
	}
	return pieces
}

func readMemStats() runtime.MemStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}

// steadyHeap is a live working set of fixed size, like a bounded cache: entries are replaced
// over time, so it produces garbage without growing.
type steadyHeap struct {
	entries [][]byte
	next    int
}

func newSteadyHeap(total, entry int) *steadyHeap {
	h := &steadyHeap{}
	for done := 0; done < total; done += entry {
		h.entries = append(h.entries, steadyCacheEntry(entry))
	}
	return h
}

// steadyCacheEntry is the allocation site of the steady working set in heap profiles.
func steadyCacheEntry(size int) []byte {
	b := make([]byte, size)
	touch(b)
	return b
}

// replace swaps the oldest entry for a new one of the same size; it returns the bytes allocated.
func (h *steadyHeap) replace() int {
	if h == nil || len(h.entries) == 0 {
		return 0
	}
	i := h.next % len(h.entries)
	h.entries[i] = steadyCacheEntry(len(h.entries[i]))
	h.next++
	return len(h.entries[i])
}

// garbageSizes mixes small size classes with one large object, as request handling does.
var garbageSizes = []int{256, 1024, 4096, 512, 16 << 10, 2048, 64 << 10, 8192}

// churner allocates garbage at a steady rate: a quarter as replacements in the steady heap, the
// rest as short-lived request-sized objects of mixed sizes.
type churner struct {
	heap        *steadyHeap
	bytesPerSec float64
	sizes       []int // garbage sizes to cycle through; garbageSizes when nil
	debt        float64
	i           int
}

func newChurner(h *steadyHeap, mibPerSec int) *churner {
	return &churner{heap: h, bytesPerSec: float64(mibPerSec) * miB}
}

// step allocates what the rate owes for dt.
func (c *churner) step(dt time.Duration) {
	c.debt += c.bytesPerSec * dt.Seconds()
	sizes := c.sizes
	if sizes == nil {
		sizes = garbageSizes
	}
	for replaced := 0.0; replaced < c.debt/4; {
		n := c.heap.replace()
		if n == 0 {
			break
		}
		replaced += float64(n)
		c.debt -= float64(n)
	}
	for c.debt > 0 {
		b := requestGarbage(sizes[c.i%len(sizes)])
		c.i++
		c.debt -= float64(len(b))
	}
}

// requestGarbage is the allocation site of short-lived garbage in heap profiles.
func requestGarbage(size int) []byte {
	b := make([]byte, size)
	touch(b)
	return b
}

// loop runs c (when not nil) and step (when not nil) every 10 ms, checks until (when not nil)
// every 100 ms, and returns true once until is true. It returns false when the session ends,
// which with until == nil is the only way out.
func (s *session) loop(c *churner, step func(dt time.Duration), until func() bool) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last, lastCheck := time.Now(), time.Time{}
	for {
		select {
		case <-s.ctx.Done():
			return false
		case now := <-tick.C:
			dt := now.Sub(last)
			last = now
			if c != nil {
				c.step(dt)
			}
			if step != nil {
				step(dt)
			}
			if until != nil && now.Sub(lastCheck) >= 100*time.Millisecond {
				lastCheck = now
				if until() {
					return true
				}
			}
		}
	}
}

// elapsed returns a condition for loop that becomes true d from now.
func elapsed(d time.Duration) func() bool {
	deadline := time.Now().Add(d)
	return func() bool { return !time.Now().Before(deadline) }
}

// gcsSince returns a condition for loop that becomes true once n more GC cycles have ended.
func gcsSince(n uint32) func() bool {
	start := readMemStats().NumGC
	return func() bool { return readMemStats().NumGC-start >= n }
}

// all returns a condition true when every one of conds is (each is evaluated every time).
func all(conds ...func() bool) func() bool {
	return func() bool {
		ok := true
		for _, c := range conds {
			ok = c() && ok
		}
		return ok
	}
}
