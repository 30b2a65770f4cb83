//go:build cgo

package main

// #include <stdlib.h>
// #include <string.h>
import "C"

import (
	"fmt"
	"unsafe"
)

// cgoBuild says whether non-go-memory can run: this binary was built with cgo.
const cgoBuild = true

// cMalloc allocates n bytes with the C allocator and touches them: memory the Go runtime never
// sees, as a C library's would be.
func cMalloc(n int) (unsafe.Pointer, error) {
	p := C.malloc(C.size_t(n))
	if p == nil {
		return nil, fmt.Errorf("malloc(%d) failed", n)
	}
	C.memset(p, 1, C.size_t(n))
	return p, nil
}

func cFree(p unsafe.Pointer) {
	C.free(p)
}
