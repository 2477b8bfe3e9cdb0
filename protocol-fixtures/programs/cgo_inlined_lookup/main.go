// Command cgo_inlined_lookup crashes in a static C function of the cgo
// preamble: find (non-static) calls lookup (static), which walks a hash
// bucket assuming the key is present and dereferences NULL when it is not.
// The C compiler (-O2, cgo's default) inlines lookup into find and find into
// cgo's generated wrapper, so the faulting instruction belongs to three
// functions at once.
package main

/*
#include <stdlib.h>
#include <string.h>

struct entry {
	const char *key;
	int value;
	struct entry *next;
};

struct index {
	unsigned nbuckets;
	struct entry **buckets;
};

static unsigned hash(const char *s) {
	unsigned h = 2166136261u;
	for (; *s; s++) {
		h = (h ^ (unsigned char)*s) * 16777619u;
	}
	return h;
}

struct index *index_new(unsigned nbuckets) {
	struct index *ix = malloc(sizeof *ix);
	ix->nbuckets = nbuckets;
	ix->buckets = calloc(nbuckets, sizeof *ix->buckets);
	return ix;
}

void index_put(struct index *ix, const char *key, int value) {
	struct entry *e = malloc(sizeof *e);
	e->key = strdup(key);
	e->value = value;
	e->next = ix->buckets[hash(key) % ix->nbuckets];
	ix->buckets[hash(key) % ix->nbuckets] = e;
}

// lookup trusts its caller: the key must be in the index.
static int lookup(const struct index *ix, const char *key) {
	const struct entry *e = ix->buckets[hash(key) % ix->nbuckets];
	while (strcmp(e->key, key) != 0) {
		e = e->next;
	}
	return e->value;
}

int find(const struct index *ix, const char *key) {
	if (key == NULL || key[0] == '\0') {
		return -1;
	}
	return lookup(ix, key);
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

type registry struct {
	ix *C.struct_index
}

func newRegistry(services map[string]int) *registry {
	r := &registry{ix: C.index_new(8)}
	for name, port := range services {
		key := C.CString(name)
		C.index_put(r.ix, key, C.int(port))
		C.free(unsafe.Pointer(key))
	}
	return r
}

func (r *registry) port(name string) int {
	key := C.CString(name)
	defer C.free(unsafe.Pointer(key))
	return int(C.find(r.ix, key))
}

func main() {
	r := newRegistry(map[string]int{"billing": 8081, "search": 8082})
	for _, name := range []string{"billing", "search", "inventory"} {
		fmt.Println(name, "listens on", r.port(name))
	}
}
