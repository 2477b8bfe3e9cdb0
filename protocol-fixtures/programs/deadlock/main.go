// Command deadlock ends with every goroutine blocked and no timer pending:
// "fatal error: all goroutines are asleep - deadlock!". main waits on a
// channel that nothing sends on; the others wait on a channel send, a mutex, a
// WaitGroup and a select.
package main

import (
	"fmt"
	"sync"
)

type pipeline struct {
	mu      sync.Mutex
	pending sync.WaitGroup
	jobs    chan int
	results chan int
	cancel  chan struct{}
}

func (p *pipeline) producer() {
	for i := 0; i < 3; i++ {
		p.jobs <- i // nobody ever receives
	}
}

func (p *pipeline) flusher() {
	p.mu.Lock() // main holds the lock forever
	defer p.mu.Unlock()
}

func (p *pipeline) waiter() {
	p.pending.Wait() // Done is never called
	close(p.results)
}

func (p *pipeline) watchdog() {
	select {
	case <-p.cancel:
	case r := <-p.results:
		fmt.Println("early result", r)
	}
}

func main() {
	p := &pipeline{jobs: make(chan int), results: make(chan int), cancel: make(chan struct{})}
	p.mu.Lock()
	p.pending.Add(1)
	go p.producer()
	go p.flusher()
	go p.waiter()
	go p.watchdog()
	total := 0
	for r := range p.results {
		total += r
	}
	fmt.Println(total)
}
