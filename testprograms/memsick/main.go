// Command memsick reproduces, one at a time, the causes of RSS growth that gomemdoctor
// diagnoses, in a real Go process that tests can start, observe and stop.
//
//	memsick <scenario> [--control] [--addr 127.0.0.1:0] [--spike-mib N] ...
//
// It serves net/http/pprof (/debug/pprof/...) and expvar (/debug/vars) on --addr, prints
// exactly one line on stdout once the symptom is established (not merely started):
//
//	READY pid=<pid> addr=<host:port> scenario=<id> control=<bool>
//
// and then keeps the symptom until SIGTERM or SIGINT, when it exits 0. Any error is one line on
// stderr and exit code 2. Progress notes go to stderr, so a launcher that times out waiting for
// READY can show them. The scenarios, and how to add one, are in scenarios.go.
package main

import (
	"context"
	"errors"
	"expvar"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// options are the command-line flags. A zero value means "the scenario's default", which the
// usage text lists per scenario.
type options struct {
	control          bool
	addr             string
	spikeMiB         int
	spikeGiven       bool // --spike-mib was on the command line (goroutine-leak spikes only then)
	liveMiB          int
	churnMiBPerSec   int
	large            bool
	objectBytes      int
	leakMiBPerSec    float64
	goroutines       int
	goroutinesPerSec int
	respikeEvery     time.Duration
	gogc             int
	fileMiB          int
	fileDir          string
	cgroupDir        string
	limitMiB         int
	readyTimeout     time.Duration
	exitOnStdinClose bool
}

// session is what a scenario's run function gets: the flags, a context cancelled on SIGTERM or
// SIGINT, and ready, to be called once the symptom is established.
type session struct {
	ctx   context.Context
	opt   options
	ready func()
}

func (s *session) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "memsick: "+format+"\n", args...)
}

// sleep waits for d, or until the session ends; it reports whether the session is still on.
func (s *session) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// orInt returns v, or def when v is zero (flag not given).
func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	var opt options
	fs := flag.NewFlagSet("memsick", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&opt.control, "control", false, "run the scenario's control: the same workload with the cause removed")
	fs.StringVar(&opt.addr, "addr", "127.0.0.1:0", "loopback `host:port` for /debug/pprof and /debug/vars")
	fs.IntVar(&opt.spikeMiB, "spike-mib", 1024, "size of the transient spike, in MiB (goroutine-leak: none unless given)")
	fs.IntVar(&opt.liveMiB, "live-mib", 0, "steady live heap, in MiB (default: per scenario; non-go-memory: the initial C memory)")
	fs.IntVar(&opt.churnMiBPerSec, "churn-mib-per-sec", 0, "garbage allocated per second, in MiB (default: per scenario)")
	fs.BoolVar(&opt.large, "large", false, "healthy: a ~1 GiB steady live heap instead of ~50 MiB")
	fs.IntVar(&opt.objectBytes, "object-bytes", 16<<10, "healthy: the size of the live heap's objects (512: small-object spans, where Green Tea reserves 128 B each)")
	fs.Float64Var(&opt.leakMiBPerSec, "leak-mib-per-sec", 0, "growth per second, in MiB (default: per scenario)")
	fs.IntVar(&opt.goroutines, "goroutines", 10000, "goroutine-leak: goroutines parked at start")
	fs.IntVar(&opt.goroutinesPerSec, "goroutines-per-sec", 200, "goroutine-leak: goroutines added per second")
	fs.DurationVar(&opt.respikeEvery, "respike-every", 2*time.Second, "scavenger-lag: repeat the spike this often; 0 spikes once")
	fs.IntVar(&opt.gogc, "gogc", 1000, "gc-heap-goal: GOGC set with debug.SetGCPercent (the control uses 100)")
	fs.IntVar(&opt.fileMiB, "file-mib", 512, "file-mapped: size of the file, in MiB")
	fs.StringVar(&opt.fileDir, "file-dir", os.TempDir(), "file-mapped: directory for the (immediately unlinked) file")
	fs.StringVar(&opt.cgroupDir, "cgroup", "", "cgroup-limit-risk: a memory cgroup `dir` with a limit to join (default: make a child of our own with --limit-mib)")
	fs.IntVar(&opt.limitMiB, "limit-mib", 256, "cgroup-limit-risk: the limit of the cgroup made without --cgroup, in MiB")
	fs.DurationVar(&opt.readyTimeout, "ready-timeout", 50*time.Second, "give up (exit 2) when the symptom is not established by then")
	fs.BoolVar(&opt.exitOnStdinClose, "exit-on-stdin-close", false, "exit 0 when stdin reaches EOF (the launcher died)")

	// Flags may come before or after the scenario name.
	if err := fs.Parse(args); err != nil {
		return usage(fs, err, false)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usage(fs, errors.New("no scenario given"), true)
	}
	id := rest[0]
	if err := fs.Parse(rest[1:]); err != nil {
		return usage(fs, err, false)
	}
	fs.Visit(func(f *flag.Flag) { opt.spikeGiven = opt.spikeGiven || f.Name == "spike-mib" })
	if len(fs.Args()) > 0 {
		return usage(fs, fmt.Errorf("unexpected argument %q", fs.Arg(0)), false)
	}
	sc, ok := scenarios[id]
	if !ok {
		return usage(fs, fmt.Errorf("unknown scenario %q", id), false)
	}
	if opt.spikeMiB <= 0 || opt.fileMiB <= 0 || opt.goroutines < 0 || opt.goroutinesPerSec < 0 ||
		opt.liveMiB < 0 || opt.objectBytes <= 0 || opt.limitMiB <= 0 || opt.churnMiBPerSec < 0 || opt.leakMiBPerSec < 0 || opt.respikeEvery < 0 {
		return fail(errors.New("sizes, rates and counts must be positive"))
	}

	ln, err := listenLoopback(opt.addr)
	if err != nil {
		return fail(err)
	}
	addr := ln.Addr().String()

	var isReady atomic.Bool
	expvar.Publish("memsick", expvar.Func(func() any {
		return map[string]any{"scenario": id, "control": opt.control, "ready": isReady.Load()}
	}))
	srv := &http.Server{Handler: http.DefaultServeMux, ReadHeaderTimeout: 5 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if opt.exitOnStdinClose {
		ctx = exitOnStdinClose(ctx)
	}

	readyCh := make(chan struct{})
	var once sync.Once
	s := &session{ctx: ctx, opt: opt, ready: func() {
		once.Do(func() {
			isReady.Store(true)
			fmt.Printf("READY pid=%d addr=%s scenario=%s control=%t\n", os.Getpid(), addr, id, opt.control)
			close(readyCh)
		})
	}}
	s.logf("%s (control=%t) on http://%s: %s", id, opt.control, addr, sc.describe(opt.control))
	runErr := make(chan error, 1)
	go func() { runErr <- sc.run(s) }()

	deadline := time.NewTimer(opt.readyTimeout)
	defer deadline.Stop()
	for {
		select {
		case <-readyCh:
			readyCh = nil // READY is printed once; from now on only a signal or an error ends us
			deadline.Stop()
		case <-deadline.C:
			return fail(fmt.Errorf("%s: symptom not established within %s", id, opt.readyTimeout))
		case err := <-serveErr:
			return fail(fmt.Errorf("serving http://%s: %w", addr, err))
		case err := <-runErr:
			if ctx.Err() != nil {
				return 0
			}
			if err == nil {
				err = errors.New("scenario ended before being stopped")
			}
			return fail(fmt.Errorf("%s: %w", id, err))
		case <-ctx.Done():
			// Let the scenario notice; it holds no state worth a longer wait.
			select {
			case <-runErr:
			case <-time.After(2 * time.Second):
			}
			return 0
		}
	}
}

// listenLoopback refuses anything but a loopback address: the pprof endpoints must never be
// reachable from outside the machine.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--addr %q: only a loopback address is allowed (the pprof endpoints must stay local)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--addr %q: %w", addr, err)
	}
	return ln, nil
}

// exitOnStdinClose ends the session when stdin reaches EOF: a launcher that keeps our stdin open
// can die by SIGKILL without leaving us behind.
func exitOnStdinClose(parent context.Context) context.Context {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	return ctx
}

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "memsick: %v\n", err)
	return 2
}

// usage prints the full help for -h or a missing scenario; any other mistake gets its message,
// the scenario names and a pointer to -h, so the message stays in the last lines of stderr.
func usage(fs *flag.FlagSet, err error, full bool) int {
	w := os.Stderr
	ids := make([]string, 0, len(scenarios))
	for id := range scenarios {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if errors.Is(err, flag.ErrHelp) {
		err, full = nil, true
	}
	if !full {
		fmt.Fprintf(w, "memsick: %v\nscenarios: %s\nrun memsick -h for the flags\n", err, strings.Join(ids, ", "))
		return 2
	}
	if err != nil {
		fmt.Fprintf(w, "memsick: %v\n\n", err)
	}
	fmt.Fprint(w, "usage: memsick <scenario> [--control] [--addr 127.0.0.1:0] [flags]\n\n"+
		"Serves /debug/pprof and /debug/vars, prints\n"+
		"  READY pid=<pid> addr=<host:port> scenario=<id> control=<bool>\n"+
		"once the symptom is established, and keeps it until SIGTERM or SIGINT.\n\nscenarios:\n")
	for _, id := range ids {
		fmt.Fprintf(w, "  %s\n      %s\n      control: %s\n", id, scenarios[id].desc, scenarios[id].controlDesc)
	}
	fmt.Fprint(w, "\nflags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	if err != nil {
		return 2
	}
	return 0
}
