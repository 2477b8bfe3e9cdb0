// Command external_abrt is a healthy server that gets killed from outside.
// It parks goroutines on network IO (a listener in Accept, a loopback
// connection in Read), on a sync.Mutex, on both sides of a sync.RWMutex, in
// time.Sleep, in a select on a time.Timer, and on a channel from a goroutine
// locked to its OS thread. Once the runtime reports all of them parked it
// prints READY; the corpus builder then sends SIGABRT.
package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

type server struct {
	ln       net.Listener
	peerLn   net.Listener
	peer     net.Conn
	client   net.Conn // kept reachable: a collected net.Conn is closed by its finalizer
	cacheMu  sync.Mutex
	configMu sync.RWMutex
	cache    map[string]string
	stop     chan struct{}
}

func (s *server) acceptLoop() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

func (s *server) readLoop(c net.Conn) {
	buf := make([]byte, 512)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		fmt.Printf("read %d bytes\n", n)
	}
}

func (s *server) refreshCache() {
	s.cacheMu.Lock() // main holds cacheMu
	defer s.cacheMu.Unlock()
	s.cache["refreshed"] = time.Now().String()
}

func (s *server) reloadConfig() {
	s.configMu.Lock() // main holds a read lock
	defer s.configMu.Unlock()
}

func (s *server) readConfig() {
	s.configMu.RLock() // queued behind the pending writer
	defer s.configMu.RUnlock()
}

func (s *server) janitor() {
	for {
		time.Sleep(time.Hour)
	}
}

func (s *server) heartbeat() {
	t := time.NewTimer(45 * time.Minute)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.stop:
	}
}

func (s *server) pinned() {
	runtime.LockOSThread()
	<-s.stop
}

// stateCounts counts the goroutines per state as the runtime prints them.
func stateCounts() map[string]int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	counts := map[string]int{}
	for _, line := range bytes.Split(buf, []byte("\n")) {
		s := string(line)
		if !strings.HasPrefix(s, "goroutine ") {
			continue
		}
		open, end := strings.Index(s, "["), strings.LastIndex(s, "]")
		if open < 0 || end < open {
			continue
		}
		counts[strings.SplitN(s[open+1:end], ",", 2)[0]]++
	}
	return counts
}

func waitFor(want map[string]int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		got := stateCounts()
		ok := true
		for state, n := range want {
			if got[state] < n {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "goroutines did not park: want %v, got %v\n", want, got)
			os.Exit(3)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func main() {
	idle, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	peer, err := ln.Accept()
	if err != nil {
		panic(err)
	}
	s := &server{ln: idle, peerLn: ln, peer: peer, client: client, cache: map[string]string{},
		stop: make(chan struct{})}

	s.cacheMu.Lock()
	s.configMu.RLock()
	go s.acceptLoop()
	go s.readLoop(peer)
	go s.refreshCache()
	go s.reloadConfig()
	go s.janitor()
	go s.heartbeat()
	go s.pinned()
	waitFor(map[string]int{"IO wait": 2, "sync.Mutex.Lock": 1, "sync.RWMutex.Lock": 1,
		"sleep": 1, "select": 1, "chan receive": 1}, 10*time.Second)
	go s.readConfig()
	waitFor(map[string]int{"sync.RWMutex.RLock": 1}, 10*time.Second)

	fmt.Println("READY", s.client.LocalAddr())
	select {}
}
