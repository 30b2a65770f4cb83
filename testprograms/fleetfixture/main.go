// Command fleetfixture is one member of a fleet that a real Prometheus scrapes in gomemdoctor's
// fleet tests: a Go process serving client_golang's default /metrics (Go and process
// collectors, as most services do) while it runs one scenario:
//
//	healthy              a steady live heap (-live-mib, 32 by default) with churn
//	madv-free-retention  a 1 GiB spike (-spike-mib) freed with runtime.GC + debug.FreeOSMemory;
//	                     run it under GODEBUG=madvdontneed=0 and the pages stay resident
//	heap-growth          -leak-mib-per-sec (4) retained in main.leakyCache over a 32 MiB heap,
//	                     up to -leak-cap-mib (512), so a forgotten process stays bounded
//	gc-heap-goal         GOGC -gogc (1000) set in code with debug.SetGCPercent, so the environment
//	                     does not show it; client_golang ≥ 1.20 serves it as go_gc_gogc_percent
//
// It listens on 127.0.0.1 (port 0 unless -addr says otherwise), prints
// "READY pid=<pid> addr=<host:port> scenario=<name>" once the symptom is established, and exits
// when its stdin closes, so it never outlives the test that started it. memsick
// (testprograms/memsick) has the same scenarios with the standard library only and a control for
// each; this program exists because Prometheus needs client_golang's names.
//
// Figures (go1.19.8, Linux 6.18, scraped every 1 s): madv-free-retention under madvdontneed=0:
// process_resident_memory_bytes 1.06 GiB, go_memstats_heap_released_bytes 1.0 GiB; healthy:
// RSS 60-75 MiB; heap-growth: go_memstats_next_gc_bytes 75 → 140 MiB over 15 s.
//
// Build offline with Debian's client_golang, or with today's in module mode (testprograms/go.mod):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o build/fleetfixture ./testprograms/fleetfixture
//	cd testprograms && GOTOOLCHAIN=go1.26.8 go build -o ../build/fleetfixture-modern ./fleetfixture
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const miB = 1 << 20

// block is the size of the live set's pieces: small objects, many spans, a realistic heap.
const block = 16 << 10

// steadyHeap is a live set replaced piece by piece: the heap's size stays, garbage is made.
type steadyHeap struct {
	blocks [][]byte
	next   int
}

func newSteadyHeap(bytes int) *steadyHeap {
	h := &steadyHeap{blocks: make([][]byte, bytes/block)}
	for i := range h.blocks {
		h.blocks[i] = touched(block)
	}
	return h
}

// churn replaces `bytes` of the live set with new pieces, so as much becomes garbage.
func (h *steadyHeap) churn(bytes int) {
	for n := bytes / block; n > 0 && len(h.blocks) > 0; n-- {
		h.blocks[h.next%len(h.blocks)] = touched(block)
		h.next++
	}
}

// touched allocates n bytes and writes every page, so they are resident.
func touched(n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		b[i] = 1
	}
	return b
}

// leaked holds everything leakyCache ever stored: nothing is evicted.
var leaked [][]byte

// leakyCache is the leak's allocation site.
func leakyCache(size int) { leaked = append(leaked, touched(size)) }

// every runs f every 10 ms with the seconds since the last call, forever.
func every(f func(dt float64)) {
	last := time.Now()
	for range time.Tick(10 * time.Millisecond) {
		now := time.Now()
		f(now.Sub(last).Seconds())
		last = now
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	liveMiB := flag.Int("live-mib", 32, "steady live heap")
	churnMiB := flag.Int("churn-mib-per-sec", 32, "garbage made per second")
	spikeMiB := flag.Int("spike-mib", 1024, "madv-free-retention: the spike freed")
	leakMiB := flag.Float64("leak-mib-per-sec", 4, "heap-growth: bytes retained per second")
	leakCapMiB := flag.Int("leak-cap-mib", 512, "heap-growth: stop leaking here")
	gogc := flag.Int("gogc", 1000, "gc-heap-goal: the GOGC set in code")
	flag.Parse()
	scenario := flag.Arg(0)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/metrics", promhttp.Handler())
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second}
	go func() { log.Fatal(srv.Serve(ln)) }()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()

	h := newSteadyHeap(*liveMiB * miB)
	churn := func(dt float64) { h.churn(int(float64(*churnMiB*miB) * dt)) }
	switch scenario {
	case "healthy":
		runtime.GC()
	case "madv-free-retention":
		spike := make([][]byte, *spikeMiB*miB/(256<<10))
		for i := range spike {
			spike[i] = touched(256 << 10)
		}
		runtime.KeepAlive(spike)
		spike = nil
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapReleased < uint64(*spikeMiB)*miB*9/10 {
			log.Fatalf("HeapReleased is %d MiB after freeing a %d MiB spike", ms.HeapReleased/miB, *spikeMiB)
		}
		// Light churn, as a service would make; it reuses a few MiB of the spike.
		*churnMiB = 4
	case "heap-growth":
		runtime.GC()
		inner := churn
		debt := 0.0
		churn = func(dt float64) {
			inner(dt)
			if len(leaked)*4096 >= *leakCapMiB*miB {
				return
			}
			for debt += *leakMiB * miB * dt; debt >= 4096; debt -= 4096 {
				leakyCache(4096)
			}
		}
	case "gc-heap-goal":
		debug.SetGCPercent(*gogc)
		runtime.GC()
	default:
		fmt.Fprintf(os.Stderr, "usage: fleetfixture [flags] healthy|madv-free-retention|heap-growth|gc-heap-goal\n")
		os.Exit(2)
	}
	fmt.Printf("READY pid=%d addr=%s scenario=%s\n", os.Getpid(), ln.Addr(), scenario)
	every(churn)
}
