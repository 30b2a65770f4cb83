// pkgfixture is the small Go program behind the packaging and namespace tests: it keeps
// --hold-mib of heap live, optionally frees a --spike-mib spike first (under
// GODEBUG=madvdontneed=0 that stays resident as LazyFree), serves net/http/pprof and expvar on
// --addr, then prints one READY line. It builds with any Go from 1.19 on and needs nothing but
// the standard library. It is its own program rather than a memsick scenario so that these
// tests do not depend on how memsick is built and started.
//
// It exits on SIGTERM or SIGINT by itself: as PID 1 of a PID namespace the kernel would
// drop those signals for a process without a handler.
package main

import (
	"expvar"
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
)

// hold is global so the collector can never free it.
var hold [][]byte

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "where to serve /debug/pprof/ and /debug/vars")
	holdMiB := flag.Int("hold-mib", 64, "heap kept live and touched")
	spikeMiB := flag.Int("spike-mib", 0, "heap allocated, touched and freed before READY")
	flag.Parse()

	if *spikeMiB > 0 {
		spike := allocate(*spikeMiB)
		runtime.KeepAlive(spike)
		spike = nil
		runtime.GC()
		// Returns the freed spike to the OS now: with MADV_DONTNEED it leaves RSS, with
		// MADV_FREE (madvdontneed=0) it stays resident as LazyFree.
		debug.FreeOSMemory()
	}
	hold = allocate(*holdMiB)
	expvar.NewInt("hold_mib").Set(int64(*holdMiB))

	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pkgfixture:", err)
		os.Exit(1)
	}
	go func() {
		if err := http.Serve(listener, nil); err != nil {
			fmt.Fprintln(os.Stderr, "pkgfixture:", err)
			os.Exit(1)
		}
	}()
	fmt.Printf("READY pid=%d addr=%s\n", os.Getpid(), listener.Addr())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}

// allocate returns mib MiB in 1 MiB pieces, every page written so it is resident.
func allocate(mib int) [][]byte {
	pieces := make([][]byte, mib)
	for i := range pieces {
		pieces[i] = make([]byte, 1<<20)
		for j := 0; j < len(pieces[i]); j += 4096 {
			pieces[i][j] = 1
		}
	}
	return pieces
}
