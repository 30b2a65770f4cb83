//go:build !cgo

package main

import (
	"errors"
	"unsafe"
)

// cgoBuild says whether non-go-memory can run: this binary was built without cgo.
const cgoBuild = false

func cMalloc(int) (unsafe.Pointer, error) {
	return nil, errors.New("this binary was built without cgo (CGO_ENABLED=0 or no C compiler), which this scenario needs")
}

func cFree(unsafe.Pointer) {}
