package main

// To add a cause: add one entry to scenarios below, keeping the keys sorted. The key is the
// finding id (the same string as in src/model/finding.ts and DESIGN.md), the description says
// what the program does, and every scenario has a control: the same workload with the cause
// removed, run with --control, so a detector test can fail. The run function builds the
// symptom, calls s.ready() once it is established (not merely started), then keeps it until
// s.ctx ends. Put the figures you measured on /proc/PID/status, /proc/PID/smaps_rollup and
// /debug/vars in a comment above the entry. That's it: usage lists the new entry by itself.
//
// Figures below: go1.19.8 linux/amd64 (Debian golang-go), Linux 6.18, 2 CPUs, 24 GiB RAM, no
// swap, THP "madvise", default flags unless stated; READY is the time from exec to the READY
// line.

// scenario is one reproducible cause of RSS growth, and its control.
type scenario struct {
	desc        string
	controlDesc string
	run         func(s *session) error
}

// describe returns what this run will do.
func (sc scenario) describe(control bool) string {
	if control {
		return "control: " + sc.controlDesc
	}
	return sc.desc
}

var scenarios = map[string]scenario{
	// Run as root (cgroup v1 here); without --cgroup, a 256 MiB child cgroup. READY 1.2 s. Cgroup
	// usage 254-255 MiB of 256, total_rss 232 MiB (90.7%), total_cache 22 MiB all inactive, failcnt
	// +~600/s; VmRSS 239 MiB. Control: READY 0.8 s, usage 255.9 MiB, total_rss 28 MiB (10.8%),
	// total_cache 228 MiB all inactive, failcnt +~1000/s; VmRSS 35 MiB.
	"cgroup-limit-risk": {
		"join a memory cgroup with a limit (--cgroup DIR, or a child made here with --limit-mib), grow anonymous memory to 90% of the limit and keep re-reading a file of a quarter of it: usage at the limit, mostly not reclaimable",
		"same cgroup, a small heap and a file as large as the limit re-read: usage at the limit, mostly reclaimable page cache",
		runCgroupLimitRisk,
	},

	// READY 0.9-1.7 s (writing the file). VmRSS 520 MiB = RssFile 517 MiB + RssAnon 2 MiB; Go
	// Sys 13 MiB. Control: READY 0.2 s, VmRSS 8 MiB, RssFile 6 MiB (the binary).
	"file-mapped": {
		"mmap a 512 MiB file (--file-mib) and read every page: RSS held as RssFile",
		"read the same file with read(2): page cache, not RSS",
		runFileMapped,
	},

	// READY 0.7 s. HeapInuse 1028 MiB, HeapAlloc 131 MiB (gap 897 MiB), HeapIdle 27 MiB,
	// VmRSS 1092 MiB. Control: READY 0.7-1.1 s, HeapInuse 132 MiB, HeapAlloc 131 MiB,
	// HeapReleased 923 MiB, VmRSS 195 MiB.
	"fragmentation": {
		"allocate --spike-mib of 1 KiB objects, keep one in eight: every span stays in use, HeapInuse-HeapAlloc large",
		"same objects, keep the first eighth allocated: the other spans are freed and released",
		runFragmentation,
	},

	// READY 2.6 s. NextGC 729 MiB against ~66 MiB live (NextGC / 11), VmRSS 743 MiB, HeapAlloc
	// sawing 93-696 MiB; right after a GC HeapIdle-HeapReleased is 613 MiB, all of it below
	// NextGC, so not scavenger lag. Control: READY 1.1 s, NextGC 130 MiB, VmRSS 144 MiB.
	"gc-heap-goal": {
		"GOGC 1000 (--gogc, set with debug.SetGCPercent), 64 MiB live, 256 MiB/s churn: NextGC and RSS far above the live heap",
		"same workload with GOGC 100",
		runGCHeapGoal,
	},

	// READY 1.1 s with 10213 goroutines, then +~230/s (10249, 10475, 10701 a second apart, the
	// sampling itself taking a little over 1 s); StackInuse 20 MiB, VmRSS 34-43 MiB. Control:
	// READY 1.1 s, 10007 goroutines at every sample, StackInuse 19-20 MiB, VmRSS 33-41 MiB.
	// --spike-mib 1024 under GODEBUG=madvdontneed=0: READY ~2 s; VmRSS 1067 MiB, LazyFree 986 MiB,
	// the count +198/s and StackInuse 20.8 → 22.8 MiB over 5 s: two findings at once.
	"goroutine-leak": {
		"park 10k goroutines (--goroutines) in main.leakyWorker on a never-closed channel, 200 more per second (--goroutines-per-sec); with --spike-mib, first allocate and free that spike (for a combined scenario under GODEBUG=madvdontneed=0)",
		"a pool of as many main.poolWorker goroutines fed with jobs, and 200 short tasks per second that end: a steady count",
		runGoroutineLeak,
	},

	// READY 1.1 s; HeapAlloc 56-92 MiB, NextGC 101 MiB, VmRSS 107-111 MiB, Sys 112-117 MiB.
	// --large: READY 3.5 s; HeapAlloc sawing 1.06-1.96 GiB, NextGC 2053 MiB, VmRSS 1.83-2.04 GiB
	// ≈ Sys (no RSS gap); just after a GC HeapIdle-HeapReleased reaches 0.7 GiB, all of it below
	// NextGC and reused before the next cycle, so not scavenger lag. --object-bytes 512 (the live
	// heap in 512 B objects), 10 reads: HeapInuse − HeapAlloc 0.6-1.1% of HeapInuse on go1.19.8,
	// 4.3-6.5% on go1.26.8 and go1.27.3 (Green Tea's 128 B span tail costs the 512 B class one slot
	// in 16); with --large 69-79 MiB.
	"healthy": {
		"a steady ~50 MiB live heap (--live-mib) with 50 MiB/s churn; --large: ~1 GiB live with 256 MiB/s churn",
		"the same (healthy is its own control)",
		runHealthy,
	},

	// READY 2.1 s. Over the next 2 s HeapAlloc 51 → 64 MiB, NextGC 71 → 79 MiB, VmRSS 76 → 85 MiB,
	// a GC every ~1 s. Control: READY 2.2 s, HeapAlloc sawing 286-432 MiB, NextGC 515 MiB flat,
	// VmRSS 513-526 MiB.
	"heap-growth": {
		"retain 2 MiB/s (--leak-mib-per-sec) in main.leakyCache over a 32 MiB steady heap with 32 MiB/s churn",
		"a steady 256 MiB heap with 128 MiB/s churn: a bigger sawtooth, no growth",
		runHeapGrowth,
	},

	// GODEBUG=madvdontneed=0: READY 0.7-1.0 s; VmRSS 1082 MiB, LazyFree 1023 MiB, then 1009 MiB
	// 4 s later (churn reuses a little); HeapReleased 1026 MiB, HeapIdle 1026 MiB, Sys 1088 MiB.
	// Control (madvdontneed=1): READY 0.7 s; VmRSS 58-72 MiB, LazyFree 0, HeapReleased 1026 MiB.
	"madv-free-retention": {
		"allocate a 1 GiB spike (--spike-mib), drop it, runtime.GC + debug.FreeOSMemory; run under GODEBUG=madvdontneed=0 so it stays resident as LazyFree",
		"the same workload; the launcher runs it under GODEBUG=madvdontneed=1 (--control only marks the READY line)",
		runMadvFreeRetention,
	},

	// READY 1.2 s. VmRSS 272 → 282 → 292 MiB a second apart, Go Sys 13 MiB flat, HeapAlloc < 1 MiB.
	// Control: READY 1.1 s, VmRSS 8-10 MiB.
	"non-go-memory": {
		"C.malloc and touch 256 MiB (--live-mib), then 8 MiB/s more (--leak-mib-per-sec), never freed (needs cgo)",
		"C.malloc, touch and free 8 MiB/s: nothing retained",
		runNonGoMemory,
	},

	// READY 0.6-0.8 s with HeapIdle 1026 MiB, HeapReleased 2 MiB, VmRSS 1082 MiB. Sampled every
	// 0.5 s: HeapIdle-HeapReleased 650-1010 MiB between spikes (VmRSS 710-1070 MiB), near 0 in the
	// ~0.3 s a spike is live (1 sample in 12). --respike-every 0: 1016, 1001, 730, 286, 255, 250,
	// 10 MiB at 1 s steps: the scavenger needs ~6 s. Control: READY 0.6 s, HeapIdle-HeapReleased
	// 0, VmRSS 58-66 MiB between spikes.
	"scavenger-lag": {
		"allocate a 1 GiB spike, drop it, runtime.GC without debug.FreeOSMemory, again every 2 s (--respike-every): HeapIdle-HeapReleased large",
		"the same spikes, each followed by debug.FreeOSMemory",
		runScavengerLag,
	},

	// THP "madvise", max_ptes_none 511, Linux 6.18 (MADV_COLLAPSE needs ≥ 6.1). Before the
	// collapse: HeapInuse 32 MiB, HeapReleased 994 MiB, VmRSS 76 MiB, AnonHugePages 0; after:
	// VmRSS 1069 MiB, AnonHugePages 1026 MiB, HeapReleased still 994 MiB. Control: HeapInuse
	// 1025 MiB, HeapReleased 2 MiB, VmRSS 1069 MiB, AnonHugePages 1026 MiB.
	"thp-bloat": {
		"allocate --spike-mib in 64 KiB pieces, keep one in 32, release the rest, then MADV_HUGEPAGE + MADV_COLLAPSE the heap as Go 1.21.1-1.21.5 with khugepaged would: huge pages refill released memory",
		"the same pieces, all kept, collapsed the same way: a heap simply backed by huge pages",
		runTHPBloat,
	},
}
