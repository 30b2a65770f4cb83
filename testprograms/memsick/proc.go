package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// procBytes reads one "Key:   123 kB" field of /proc/self/status or /proc/self/smaps_rollup,
// in bytes (the kernel's kB is KiB). It is for progress notes and self-checks; ok is false
// when the file or the field is missing.
func procBytes(path, key string) (n uint64, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, found := strings.Cut(sc.Text(), ":")
		if !found || name != key {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, false
		}
		v, err := strconv.ParseUint(fields[0], 10, 64)
		return v * 1024, err == nil
	}
	return 0, false
}

// procMiB formats a procBytes field for a progress note.
func procMiB(path, key string) string {
	n, ok := procBytes(path, key)
	if !ok {
		return key + " unreadable"
	}
	return key + " " + strconv.FormatUint(n/miB, 10) + " MiB"
}
