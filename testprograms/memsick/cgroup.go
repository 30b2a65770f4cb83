package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// cgroupHeld keeps the cgroup-limit-risk heap alive for as long as the scenario runs.
var cgroupHeld [][]byte

// memCgroup is the memory cgroup the cgroup-limit-risk scenario runs in.
type memCgroup struct {
	dir     string
	version int // 1 or 2
	limit   uint64
	created bool // memsick made dir itself and removes it on exit
}

// runCgroupLimitRisk joins a memory cgroup with a limit (--cgroup DIR, made by the caller; or,
// without it, a child of memsick's own memory cgroup with --limit-mib, made and removed here),
// then grows anonymous memory (a live Go heap, every page touched) until the cgroup's anon
// counter reaches 90% of the limit, and keeps re-reading a file of a quarter of the limit with
// read(2): the page cache pushes usage against the limit, so the kernel reclaims at the limit
// and the failure counter rises, while 90% can never be reclaimed (no swap). The control holds
// a small heap and re-reads a file as large as the limit: usage sits at the limit just the same,
// limit hits rise just the same, but nearly all of it is page cache the kernel takes back.
//
// The process joins the cgroup itself, before it allocates: a cgroup v1 charge stays with the
// cgroup a page was first charged to, so a process moved in after growing brings nothing along.
func runCgroupLimitRisk(s *session) error {
	cg, err := joinMemoryCgroup(s)
	if err != nil {
		return err
	}
	defer cg.leave(s)
	s.logf("in %s (cgroup v%d), limit %d MiB", cg.dir, cg.version, cg.limit/miB)

	fileSize, anonGoal := int(cg.limit/4), cg.limit*9/10
	if s.opt.control {
		fileSize, anonGoal = int(cg.limit), cg.limit/10
	}
	f, err := writeCgroupFile(s, fileSize)
	if err != nil {
		return err
	}
	defer f.Close()

	for {
		anon, err := cg.anon()
		if err != nil {
			return err
		}
		if anon >= anonGoal {
			break
		}
		// Small steps near the goal: each step is charged before the next check.
		step := 4 * miB
		if rest := int(anonGoal - anon); rest < step {
			step = rest
		}
		if step < pageSize*16 {
			step = pageSize * 16
		}
		cgroupHeld = append(cgroupHeld, allocSpike(step, pageSize*16)...)
	}
	// Settle the heap before READY: the last collection during the growth marked only part of
	// it, so a collection in the diagnose window (the heap goal is near at the end of the growth)
	// saw the live heap rise by the rest, 10.8 MiB on the control under load, and heap-growth
	// could not tell that from a leak in two cycles. After this one, the goal is twice the held
	// heap and nothing here allocates toward it.
	runtime.GC()
	buf := make([]byte, miB)
	read := func() error {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		for {
			if _, err := f.Read(buf); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
		}
	}
	hitsAtStart, _ := cg.limitHits()
	for i := 0; i < 3; i++ {
		if err := read(); err != nil {
			return err
		}
	}
	hits, _ := cg.limitHits()
	anon, _ := cg.anon()
	s.logf("anon %d MiB of %d MiB (%d pieces held); limit hits %d → %d over three reads",
		anon/miB, cg.limit/miB, len(cgroupHeld), hitsAtStart, hits)
	s.ready()
	for s.sleep(200 * time.Millisecond) {
		if err := read(); err != nil {
			return err
		}
	}
	return nil
}

// writeCgroupFile writes an unlinked temporary file of size bytes, synced so its pages are clean
// and the kernel can drop them from the page cache at once.
func writeCgroupFile(s *session, size int) (*os.File, error) {
	f, err := os.CreateTemp(s.opt.fileDir, "memsick-cgroup-limit-risk-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	buf := make([]byte, miB)
	for done := 0; done < size; done += len(buf) {
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return nil, fmt.Errorf("writing the temporary file: %w", err)
		}
		// Dirty pages cannot be reclaimed until written back: keep them few under a tight limit.
		if done%(16*miB) == 0 {
			if err := f.Sync(); err != nil {
				f.Close()
				return nil, err
			}
		}
	}
	return f, f.Sync()
}

// joinMemoryCgroup moves this process into --cgroup, or into a new child of its own memory
// cgroup limited to --limit-mib. Both need root (or a delegated cgroup).
func joinMemoryCgroup(s *session) (*memCgroup, error) {
	cg := &memCgroup{dir: s.opt.cgroupDir}
	if cg.dir == "" {
		own, err := ownMemoryCgroup()
		if err != nil {
			return nil, err
		}
		cg.dir, cg.created = filepath.Join(own, fmt.Sprintf("memsick-%d", os.Getpid())), true
		if err := os.Mkdir(cg.dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating a memory cgroup (needs root): %w", err)
		}
	}
	cg.version = 2
	limitFile := "memory.max"
	if _, err := os.Stat(filepath.Join(cg.dir, "memory.limit_in_bytes")); err == nil {
		cg.version, limitFile = 1, "memory.limit_in_bytes"
	}
	if cg.created {
		limit := strconv.Itoa(orInt(s.opt.limitMiB, 256) * miB)
		if err := os.WriteFile(filepath.Join(cg.dir, limitFile), []byte(limit), 0); err != nil {
			cg.leave(s)
			return nil, fmt.Errorf("setting the cgroup limit: %w", err)
		}
	}
	limit, err := readUint(filepath.Join(cg.dir, limitFile))
	if err != nil || limit >= 1<<62 {
		cg.leave(s)
		return nil, fmt.Errorf("%s has no memory limit (%s: %v)", cg.dir, limitFile, err)
	}
	cg.limit = limit
	pid := []byte(strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(filepath.Join(cg.dir, "cgroup.procs"), pid, 0); err != nil {
		cg.leave(s)
		return nil, fmt.Errorf("joining %s (needs root): %w", cg.dir, err)
	}
	return cg, nil
}

// leave moves the process back to the parent cgroup and removes the cgroup memsick created.
func (cg *memCgroup) leave(s *session) {
	if !cg.created {
		return
	}
	pid := []byte(strconv.Itoa(os.Getpid()))
	_ = os.WriteFile(filepath.Join(filepath.Dir(cg.dir), "cgroup.procs"), pid, 0)
	if err := os.Remove(cg.dir); err != nil {
		s.logf("could not remove %s: %v", cg.dir, err)
	}
}

// ownMemoryCgroup is the directory of this process's memory cgroup: v1's memory hierarchy, else
// v2 where the memory controller is enabled (memory.max exists).
func ownMemoryCgroup() (string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				return filepath.Join("/sys/fs/cgroup/memory", parts[2]), nil
			}
		}
		if parts[0] == "0" {
			for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
				dir := filepath.Join(root, parts[2])
				if _, err := os.Stat(filepath.Join(dir, "memory.max")); err == nil {
					return dir, nil
				}
			}
		}
	}
	return "", errors.New("no memory cgroup controller for this process (v1 memory hierarchy or v2 with memory enabled)")
}

// anon is the cgroup's anonymous memory: total_rss (v1) or anon (v2) in memory.stat.
func (cg *memCgroup) anon() (uint64, error) {
	key := "anon"
	if cg.version == 1 {
		key = "total_rss"
	}
	return statKey(filepath.Join(cg.dir, "memory.stat"), key)
}

// limitHits is memory.failcnt (v1) or the `max` count of memory.events (v2).
func (cg *memCgroup) limitHits() (uint64, error) {
	if cg.version == 1 {
		return readUint(filepath.Join(cg.dir, "memory.failcnt"))
	}
	return statKey(filepath.Join(cg.dir, "memory.events"), "max")
}

func readUint(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
}

// statKey reads one "key value" line of a flat-keyed cgroup file.
func statKey(path, key string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == key {
			return strconv.ParseUint(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s", path, key)
}
