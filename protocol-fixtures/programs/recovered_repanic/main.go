// Command recovered_repanic recovers a panic in one middleware layer and
// panics again: the inner layer re-panics with the same value (Go 1.25+
// prints "[recovered, repanicked]"), the outer layer wraps it in a new value
// (the runtime prints the recovered panic, then the new one).
package main

import "fmt"

type request struct {
	id   int
	path string
}

func handle(r request) {
	var fields []string
	_ = fields[r.id] // an out-of-range bug in the handler
}

func logging(r request, next func(request)) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Printf("request %d %s: %v\n", r.id, r.path, v)
			panic(v)
		}
	}()
	next(r)
}

func recoverer(r request, next func(request)) {
	defer func() {
		if v := recover(); v != nil {
			panic(fmt.Sprintf("request %d failed: %v", r.id, v))
		}
	}()
	logging(r, next)
}

func main() {
	recoverer(request{id: 3, path: "/orders"}, handle)
}
