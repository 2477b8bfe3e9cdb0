// Command wait_objects blocks goroutines on known synchronisation objects
// and then panics, so that a core shows who waits on what.
//
// Every count comes from a flag. The objects:
//
//   - jobs: an unbuffered chan int; -receivers goroutines receive from it.
//   - results: a chan string with capacity 4, filled; -senders goroutines
//     block sending to it.
//   - mu: a sync.Mutex held by main; -mutex_waiters goroutines Lock it.
//   - wg: a sync.WaitGroup that never reaches zero; -wg_waiters goroutines
//     Wait on it.
//   - rw: a sync.RWMutex read-locked by main. The first of -rw_writers
//     writers blocks on its writer semaphore, the others queue on its
//     inner mutex; then -rw_readers readers block behind the pending writer.
//   - cond: a sync.Cond; -cond_waiters goroutines Wait on it.
//
// Before panicking the program prints one line per object to stdout,
// "object NAME ADDRESS", with the address %p prints (the channel's runtime
// structure for a channel), which is what a core reader should find.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

type dispatcher struct {
	jobs    chan int
	results chan string
	mu      sync.Mutex
	wg      sync.WaitGroup
	rw      sync.RWMutex
	condMu  sync.Mutex
	cond    *sync.Cond
}

func (d *dispatcher) receiveJob()      { <-d.jobs }
func (d *dispatcher) sendResult(i int) { d.results <- fmt.Sprint("result ", i) }
func (d *dispatcher) lockState()       { d.mu.Lock() }
func (d *dispatcher) awaitShutdown()   { d.wg.Wait() }
func (d *dispatcher) writeConfig()     { d.rw.Lock() }
func (d *dispatcher) readConfig()      { d.rw.RLock() }

func (d *dispatcher) awaitSignal() {
	d.condMu.Lock()
	d.cond.Wait()
}

// states returns the state of every goroutine but the caller, as the
// runtime's own traceback text names it.
func states() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for i, line := range bytes.Split(buf, []byte("\n")) {
		s := string(line)
		if i > 0 && strings.HasPrefix(s, "goroutine ") {
			state := s[strings.Index(s, "[")+1 : strings.LastIndex(s, "]")]
			out = append(out, strings.Split(state, ",")[0])
		}
	}
	return out
}

// waitFor polls until `count` goroutines are in state `state` and none is
// runnable or running.
func waitFor(state string, count int) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, busy := 0, 0
		for _, s := range states() {
			switch {
			case s == state:
				n++
			case s == "runnable" || s == "running":
				busy++
			}
		}
		if n >= count && busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "timed out waiting for %d goroutines in %q (have %d, %d busy)\n", count, state, n, busy)
			os.Exit(3)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func main() {
	receivers := flag.Int("receivers", 5, "goroutines receiving from jobs")
	senders := flag.Int("senders", 3, "goroutines sending to the full results channel")
	mutexWaiters := flag.Int("mutex_waiters", 4, "goroutines locking mu")
	wgWaiters := flag.Int("wg_waiters", 6, "goroutines waiting on wg")
	rwReaders := flag.Int("rw_readers", 7, "goroutines read-locking rw behind a writer")
	rwWriters := flag.Int("rw_writers", 2, "goroutines write-locking rw")
	condWaiters := flag.Int("cond_waiters", 3, "goroutines waiting on cond")
	flag.Parse()

	d := &dispatcher{jobs: make(chan int), results: make(chan string, 4)}
	d.cond = sync.NewCond(&d.condMu)
	for i := 0; i < cap(d.results); i++ {
		d.results <- "queued"
	}
	d.mu.Lock()
	d.wg.Add(1)
	d.rw.RLock()

	for i := 0; i < *receivers; i++ {
		go d.receiveJob()
	}
	for i := 0; i < *senders; i++ {
		go d.sendResult(i)
	}
	for i := 0; i < *mutexWaiters; i++ {
		go d.lockState()
	}
	for i := 0; i < *wgWaiters; i++ {
		go d.awaitShutdown()
	}
	for i := 0; i < *condWaiters; i++ {
		go d.awaitSignal()
	}
	// Writers first, one at a time, so that exactly one waits on the writer
	// semaphore; readers after them, so that they queue behind a writer.
	if *rwWriters > 0 {
		go d.writeConfig()
		waitFor("sync.RWMutex.Lock", 1)
		for i := 1; i < *rwWriters; i++ {
			go d.writeConfig()
		}
		waitFor("sync.Mutex.Lock", *mutexWaiters+*rwWriters-1)
	}
	for i := 0; i < *rwReaders; i++ {
		go d.readConfig()
	}
	waitFor("sync.RWMutex.RLock", *rwReaders)
	waitFor("sync.Cond.Wait", *condWaiters)

	fmt.Printf("object jobs %p\n", d.jobs)
	fmt.Printf("object results %p\n", d.results)
	fmt.Printf("object mu %p\n", &d.mu)
	fmt.Printf("object wg %p\n", &d.wg)
	fmt.Printf("object rw %p\n", &d.rw)
	fmt.Printf("object cond %p\n", d.cond)
	panic("dispatcher: all workers blocked")
}
