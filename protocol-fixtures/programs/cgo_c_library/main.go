// Command cgo_c_library uses a small C library that lives in its own .c file
// in the package (histogram.c): after an export the Go side resets the
// histogram, which frees its counts, and the next batch of observations
// writes through the NULL counts pointer inside the library.
package main

// #include "histogram.h"
import "C"

import (
	"fmt"
	"unsafe"
)

type latencies struct {
	h *C.struct_histogram
}

func newLatencies(boundsMs []float64) *latencies {
	return &latencies{h: C.histogram_new((*C.double)(unsafe.Pointer(&boundsMs[0])), C.size_t(len(boundsMs)))}
}

func (l *latencies) record(batch []float64) {
	C.histogram_observe_all(l.h, (*C.double)(unsafe.Pointer(&batch[0])), C.size_t(len(batch)))
}

func (l *latencies) export() uint64 {
	n := uint64(C.histogram_count(l.h))
	C.histogram_reset(l.h)
	return n
}

func main() {
	l := newLatencies([]float64{5, 10, 25, 50, 100, 250})
	l.record([]float64{3.2, 7.9, 12.5, 48, 230})
	fmt.Println("exported", l.export(), "observations")
	l.record([]float64{4.4, 91.0})
	fmt.Println("exported", l.export(), "observations")
}
