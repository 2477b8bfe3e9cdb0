// Command cgo_crash dereferences NULL inside C code called through cgo: the
// SIGSEGV arrives while the goroutine is in a cgo call.
package main

/*
#include <stddef.h>
#include <stdint.h>

typedef struct {
	int64_t id;
	const char *label;
	double weight;
} record;

// checksum walks the records, trusting the count more than the pointer.
static int64_t checksum(const record *recs, int count) {
	int64_t sum = 0;
	for (int i = 0; i < count; i++) {
		sum = sum * 31 + recs[i].id;
	}
	return sum;
}
*/
import "C"

import (
	"fmt"
	"os"
)

type batch struct {
	name  string
	count int
	recs  *C.record
}

func summarize(b batch) int64 {
	return int64(C.checksum(b.recs, C.int(b.count)))
}

func main() {
	// The records were never allocated: recs is NULL but count says 3.
	b := batch{name: "nightly", count: 2 + len(os.Args)}
	fmt.Println("summarizing", b.name)
	fmt.Println("checksum", summarize(b))
}
