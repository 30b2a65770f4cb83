// Command profilefixture is a small Go process whose heap profiles and goroutine dumps become
// parser fixtures (scripts/capture-profile-fixtures.sh). It grows a cache in main.leakyCache,
// parks goroutines in main.leakyWorker (channel receive), and keeps a few goroutines in other
// states (select, sleep, mutex, IO wait). Allocation sites include an inlined helper and a
// recursive function, so top's cum rules are exercised on real data. It serves net/http/pprof on
// 127.0.0.1:0 and prints `READY pid=<pid> addr=<host:port>`. With -panic it panics once ripe, so
// the panic dump lands on stderr. Standard library only; used until testprograms/memsick exists.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"sync"
	"time"
)

var (
	cache   = map[int][]byte{}
	cacheMu sync.Mutex
	held    sync.Mutex
	blocked = make(chan int)
	sink    [][]byte
)

// newBlock is small enough to be inlined into its callers: its allocation site is an inlined frame.
func newBlock(n int) []byte { return make([]byte, n) }

// leakyCache adds entries that are never evicted.
func leakyCache(i int) {
	cacheMu.Lock()
	cache[i] = newBlock(16 << 10)
	cacheMu.Unlock()
}

// recurse allocates at every depth: the same function appears several times on one stack.
func recurse(depth int) {
	sink = append(sink, make([]byte, 32<<10))
	if depth > 0 {
		recurse(depth - 1)
	}
}

// leakyWorker waits for work that never comes.
func leakyWorker(id int, results chan<- int) {
	v := <-blocked
	results <- v + id
}

func selecter() {
	t := make(chan struct{})
	select {
	case <-t:
	case <-blocked:
	}
}

func sleeper() { time.Sleep(time.Hour) }

func locker() {
	held.Lock()
	held.Unlock()
}

func main() {
	grow := flag.Int("grow", 200, "cache entries added per tick (16 KiB each)")
	workers := flag.Int("workers", 300, "leaked workers")
	panicAfter := flag.Duration("panic", 0, "panic this long after READY (0: never)")
	// The runtime stamps a parked goroutine's wait start during the next GC's mark phase; dumps
	// show "N minutes" only for goroutines stamped so. An idle process may not GC for 2 minutes.
	gcEvery := flag.Duration("gc", 0, "force a GC this often (0: never)")
	flag.Parse()
	runtime.MemProfileRate = 4096
	// Each P drew its next sample point under the default rate (512 KiB): spend it on garbage, so
	// the allocations below are sampled at the new rate.
	for i := 0; i < 256; i++ {
		sink = append(sink, make([]byte, 16<<10))
	}
	sink = nil

	held.Lock()
	for i := 0; i < 3; i++ {
		go selecter()
		go sleeper()
		go locker()
	}
	results := make(chan int)
	for i := 0; i < *workers; i++ {
		go leakyWorker(i, results)
	}
	for i := 0; i < 8; i++ {
		recurse(6)
	}
	next := 0
	tick := func() {
		for i := 0; i < *grow; i++ {
			leakyCache(next)
			next++
		}
	}
	tick()
	runtime.GC()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() {
		for range time.Tick(100 * time.Millisecond) {
			tick()
		}
	}()
	if *gcEvery > 0 {
		go func() {
			for range time.Tick(*gcEvery) {
				runtime.GC()
			}
		}()
	}
	fmt.Printf("READY pid=%d addr=%s\n", os.Getpid(), ln.Addr())
	if *panicAfter > 0 {
		time.Sleep(*panicAfter)
		panic(fmt.Sprintf("profilefixture: panicking on purpose with %d cache entries", next))
	}
	_ = http.Serve(ln, nil)
}
