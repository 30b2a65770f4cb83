// Command promfixture is a small, well-behaved Go process whose HTTP endpoints gomemdoctor's
// format tests are captured from (scripts/capture-http-fixtures.sh), and the /metrics e2e test's
// target.
//
// It serves, on 127.0.0.1 (port 0 unless -addr says otherwise):
//
//	/metrics              promhttp.Handler(): client_golang's default registry
//	/metrics-runtime      a registry whose Go collector exports MemStats and runtime/metrics
//	/metrics-rm-only      a registry whose Go collector exports runtime/metrics only
//	/debug/vars           expvar (memstats, cmdline, one user variable)
//	/debug/pprof/...      net/http/pprof
//
// and prints "READY pid=<pid> addr=<host:port>" once its heap is settled. Allocation is bounded
// (a fixed live set plus garbage made once before READY) so it can run for hours.
//
// Build offline with Debian's client_golang, or with today's in module mode (testprograms/go.mod):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o promfixture ./testprograms/promfixture
//	cd testprograms && GOTOOLCHAIN=go1.26.8 go build -o promfixture ./promfixture
package main

import (
	"expvar"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// live is the retained set: 16 MiB in 64 KiB blocks, so the heap profile has a clear top site.
var live [][]byte

func settle() {
	for i := 0; i < 256; i++ {
		block := make([]byte, 64<<10)
		for j := range block {
			block[j] = byte(i) // touch every page, so the live set is resident
		}
		live = append(live, block)
	}
	// 64 MiB of garbage, then GCs, so HeapIdle/HeapReleased and NumGC are not zero.
	for i := 0; i < 1024; i++ {
		_ = make([]byte, 64<<10)
	}
	runtime.GC()
	runtime.GC()
	// A few parked goroutines so go_goroutines is more than the server's own.
	for i := 0; i < 8; i++ {
		go func() { select {} }()
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()

	expvar.NewInt("fixture_requests").Set(42)

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollections(
			collectors.GoRuntimeMetricsCollection|collectors.GoRuntimeMemStatsCollection)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	rmOnly := prometheus.NewRegistry()
	rmOnly.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollections(collectors.GoRuntimeMetricsCollection)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	http.Handle("/metrics", promhttp.Handler())
	http.Handle("/metrics-runtime", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	http.Handle("/metrics-rm-only", promhttp.HandlerFor(rmOnly, promhttp.HandlerOpts{}))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	settle()
	fmt.Printf("READY pid=%d addr=%s\n", os.Getpid(), ln.Addr())
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.Serve(ln))
}
