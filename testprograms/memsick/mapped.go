package main

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// runFileMapped writes a --file-mib file and maps it with syscall.Mmap (read-only, shared), then
// reads every page, so RSS holds it as RssFile: page cache that the kernel can drop, not heap.
// The file is unlinked as soon as it is open, so nothing is left behind even on SIGKILL; its
// mapping shows in /proc/PID/maps as "(deleted)". The page reads repeat every 2 s to keep the
// pages hot. The control reads the same file with read(2) into a 1 MiB buffer: the pages are in
// the page cache but not in the process's RSS.
func runFileMapped(s *session) error {
	f, err := os.CreateTemp(s.opt.fileDir, "memsick-file-mapped-*")
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return err
	}
	size := s.opt.fileMiB * miB
	buf := make([]byte, miB)
	for i := range buf {
		buf[i] = byte(i)
	}
	for done := 0; done < size; done += len(buf) {
		if _, err := f.Write(buf); err != nil {
			return fmt.Errorf("writing the temporary file: %w", err)
		}
	}
	var read func() (byte, error)
	if s.opt.control {
		read = func() (byte, error) {
			var sum byte
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return 0, err
			}
			for {
				n, err := f.Read(buf)
				for i := 0; i < n; i += pageSize {
					sum += buf[i]
				}
				if err == io.EOF {
					return sum, nil
				}
				if err != nil {
					return 0, err
				}
			}
		}
	} else {
		data, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
		if err != nil {
			return fmt.Errorf("mmap: %w", err)
		}
		defer func() { _ = syscall.Munmap(data) }()
		read = func() (byte, error) {
			var sum byte
			for i := 0; i < len(data); i += pageSize {
				sum += data[i]
			}
			return sum, nil
		}
	}
	if _, err := read(); err != nil {
		return err
	}
	rssFile, ok := procBytes("/proc/self/status", "RssFile")
	s.logf("after reading the file: %s", procMiB("/proc/self/status", "RssFile"))
	if !s.opt.control && ok && rssFile < uint64(size)*9/10 {
		return fmt.Errorf("RssFile is only %d MiB after reading a %d MiB mapping", rssFile/miB, size/miB)
	}
	s.ready()
	for s.sleep(2 * time.Second) {
		if _, err := read(); err != nil {
			return err
		}
	}
	return nil
}
