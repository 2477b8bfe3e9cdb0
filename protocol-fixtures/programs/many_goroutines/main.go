// Command many_goroutines parks N goroutines (flag -goroutines, default 300)
// across many wait states, waits until the runtime reports them all parked,
// and then lets one worker panic. The bench builds 1k/10k/100k variants.
//
// The wait states, in round-robin order: chan receive, chan send, chan
// receive (nil chan), chan send (nil chan), select, select (no cases),
// sync.Mutex.Lock, sync.RWMutex.Lock, sync.RWMutex.RLock,
// sync.WaitGroup.Wait, sync.Cond.Wait, sleep, and network reads, where the
// first reader of each connection is in "IO wait" and the readers queued
// behind it on the fd's lock are in "semacquire". Two extra goroutines, not
// counted in N, sit in a blocking syscall and on a thread-locked channel.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxConns bounds the loopback connections used for the network readers, so
// a 100k variant does not need 100k file descriptors.
const maxConns = 32

type pool struct {
	recv    chan int
	send    chan int
	nilChan chan int
	mu      sync.Mutex
	writers []*sync.RWMutex
	readMu  sync.RWMutex
	wg      sync.WaitGroup
	condMu  sync.Mutex
	cond    *sync.Cond
	conns   []net.Conn
	started sync.WaitGroup
}

type waiter func(p *pool, i int)

var waiters = []struct {
	state string
	run   waiter
}{
	{"chan receive", func(p *pool, i int) { p.started.Done(); <-p.recv }},
	{"chan send", func(p *pool, i int) { p.started.Done(); p.send <- i }},
	{"chan receive (nil chan)", func(p *pool, i int) { p.started.Done(); <-p.nilChan }},
	{"chan send (nil chan)", func(p *pool, i int) { p.started.Done(); p.nilChan <- i }},
	{"select", func(p *pool, i int) {
		p.started.Done()
		select {
		case <-p.recv:
		case p.send <- i:
		}
	}},
	{"select (no cases)", func(p *pool, i int) { p.started.Done(); select {} }},
	{"sync.Mutex.Lock", func(p *pool, i int) { p.started.Done(); p.mu.Lock() }},
	{"sync.RWMutex.Lock", func(p *pool, i int) {
		// One RWMutex per writer: writers queued on a shared RWMutex wait on
		// its inner sync.Mutex instead.
		rw := p.writers[i]
		p.started.Done()
		rw.Lock()
	}},
	{"sync.RWMutex.RLock", func(p *pool, i int) { p.started.Done(); p.readMu.RLock() }},
	{"sync.WaitGroup.Wait", func(p *pool, i int) { p.started.Done(); p.wg.Wait() }},
	{"sync.Cond.Wait", func(p *pool, i int) {
		p.condMu.Lock()
		p.started.Done()
		p.cond.Wait()
	}},
	{"sleep", func(p *pool, i int) { p.started.Done(); time.Sleep(time.Duration(1+i%7) * time.Hour) }},
	{"IO wait", func(p *pool, i int) {
		c := p.conns[i%len(p.conns)]
		p.started.Done()
		buf := make([]byte, 64)
		c.Read(buf)
	}},
}

func loopbackConns(n int) []net.Conn {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	var conns []net.Conn
	for i := 0; i < n; i++ {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			panic(err)
		}
		server, err := ln.Accept()
		if err != nil {
			panic(err)
		}
		conns = append(conns, server)
		_ = client // kept open by the fd table; nothing is ever written
		keep = append(keep, client)
	}
	return conns
}

var keep []net.Conn

// runnableCount reports how many goroutines other than the caller have not
// parked yet, as the runtime's own traceback text shows them.
func runnableCount() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	busy := -1 // the caller is running
	for _, line := range bytes.Split(buf, []byte("\n")) {
		s := string(line)
		if strings.HasPrefix(s, "goroutine ") && (strings.Contains(s, "[running") || strings.Contains(s, "[runnable")) {
			busy++
		}
	}
	return busy
}

func settle(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for runnableCount() > 0 {
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "goroutines did not park in time")
			os.Exit(3)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type shard struct {
	id       int
	checksum uint32
	want     uint32
}

func verify(s shard) {
	if s.checksum != s.want {
		panic(fmt.Sprintf("shard %d: checksum mismatch (got %#x, want %#x)", s.id, s.checksum, s.want))
	}
}

func main() {
	n := flag.Int("goroutines", 300, "goroutines to park before the panic")
	flag.Parse()

	p := &pool{recv: make(chan int), send: make(chan int)}
	p.cond = sync.NewCond(&p.condMu)
	p.mu.Lock()
	p.readMu.Lock()
	p.wg.Add(1)
	// Two readers per connection: one in IO wait, one queued on the fd lock.
	conns := (*n/len(waiters) + 1) / 2
	conns = max(1, min(conns, maxConns))
	p.conns = loopbackConns(conns)
	p.writers = make([]*sync.RWMutex, *n)
	for i := range p.writers {
		p.writers[i] = new(sync.RWMutex)
		p.writers[i].RLock()
	}

	p.started.Add(*n)
	for i := 0; i < *n; i++ {
		go waiters[i%len(waiters)].run(p, i)
	}

	// A goroutine stuck in a blocking read(2) on a pipe: state "syscall".
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		panic(err)
	}
	go func() {
		buf := make([]byte, 1)
		syscall.Read(fds[0], buf)
	}()
	// A goroutine wired to its OS thread: "[chan receive, locked to thread]".
	go func() {
		runtime.LockOSThread()
		<-p.recv
	}()

	p.started.Wait()
	settle(time.Duration(10+*n/1000) * time.Second)
	fmt.Println("parked", *n, "goroutines")

	go verify(shard{id: 42, checksum: 0xdeadbeef, want: 0x8badf00d})
	<-p.recv
}
