// Command concurrent_map_writes updates one unsynchronised map from many
// goroutines until the runtime notices: "fatal error: concurrent map writes".
package main

import (
	"fmt"
	"sync"
)

type hitCounter struct {
	hits map[string]int // shared without a lock: the bug
}

func (c *hitCounter) record(path string) {
	c.hits[path]++
}

func serve(c *hitCounter, worker int, paths []string, wg *sync.WaitGroup) {
	defer wg.Done()
	for i := worker; ; i++ {
		c.record(paths[i%len(paths)])
	}
}

func main() {
	paths := make([]string, 256)
	for i := range paths {
		paths[i] = fmt.Sprintf("/api/v1/items/%d", i)
	}
	c := &hitCounter{hits: make(map[string]int)}
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go serve(c, w, paths, &wg)
	}
	wg.Wait()
}
