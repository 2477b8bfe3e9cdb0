// Command classic is the textbook crash: a worker goroutine panics with an
// error value while the main goroutine is parked in time.Sleep.
package main

import (
	"fmt"
	"time"
)

type order struct {
	id       int
	customer string
	quantity int
}

func validate(o order) error {
	if o.quantity < 0 {
		return fmt.Errorf("order %d for %s: negative quantity %d", o.id, o.customer, o.quantity)
	}
	return nil
}

func worker(id int, orders <-chan order) {
	processed := 0
	for o := range orders {
		if err := validate(o); err != nil {
			panic(err)
		}
		processed++
		fmt.Printf("worker %d processed order %d (%d so far)\n", id, o.id, processed)
	}
}

func main() {
	orders := make(chan order)
	go worker(1, orders)
	go func() {
		for i, q := range []int{3, 1, -2} {
			orders <- order{id: 100 + i, customer: "acme", quantity: q}
		}
	}()
	// The worker crashes long before this returns.
	time.Sleep(30 * time.Second)
}
