// Command procfixture is a tiny Go process whose /proc files become parser fixtures
// (scripts/capture-proc-fixtures.sh). It keeps 32 MiB live, returns 64 MiB of garbage to the OS
// (as MADV_FREE under GODEBUG=madvdontneed=0, so smaps_rollup shows LazyFree), listens on
// 127.0.0.1:0 and [::1]:0, prints one READY line and serves until killed. Standard library only.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime/debug"
)

var live []byte

// touch allocates n bytes and writes every page, so they count in RSS.
func touch(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 1
	}
	return b
}

func main() {
	live = touch(32 << 20)
	touch(64 << 20) // garbage as soon as it is written
	debug.FreeOSMemory()

	ln4, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ln6, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		panic(err)
	}
	go http.Serve(ln6, nil)
	fmt.Printf("READY pid=%d addr=%s addr6=%s\n", os.Getpid(), ln4.Addr(), ln6.Addr())
	_ = http.Serve(ln4, nil)
}
