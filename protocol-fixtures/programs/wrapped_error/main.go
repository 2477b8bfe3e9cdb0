// Command wrapped_error panics on the main goroutine with a wrapped error: the
// runtime prints the value's Error() text, not its type.
package main

import (
	"errors"
	"fmt"
)

var ErrQuota = errors.New("quota exceeded")

type quota struct {
	tenant string
	used   int
	limit  int
}

func reserve(q *quota, job int, cost int) error {
	if q.used+cost > q.limit {
		return fmt.Errorf("tenant %q job %d: %w", q.tenant, job, ErrQuota)
	}
	q.used += cost
	return nil
}

func schedule(q *quota, jobs map[int]int) {
	for _, job := range []int{11, 13, 17} {
		if err := reserve(q, job, jobs[job]); err != nil {
			if errors.Is(err, ErrQuota) {
				panic(err)
			}
			fmt.Println("skipping:", err)
		}
	}
}

func main() {
	q := &quota{tenant: "acme", limit: 100}
	schedule(q, map[int]int{11: 40, 13: 35, 17: 50})
}
