// Command optimized_inlined is built with the default flags (optimised, with
// inlining). The out-of-range index happens inside sampleAt, which the
// compiler inlines into the loop of windowSum, itself inlined into main.
package main

import (
	"fmt"
	"os"
)

type series struct {
	name    string
	samples []int
}

func sampleAt(s *series, i int) int {
	return s.samples[i]
}

func windowSum(s *series, start, width int) int {
	sum := 0
	for i := start; i < start+width; i++ {
		sum += sampleAt(s, i)
	}
	return sum
}

func load(n int) *series {
	s := &series{name: "cpu", samples: make([]int, n)}
	for i := range s.samples {
		s.samples[i] = (i*37 + len(os.Args)) % 100
	}
	return s
}

func main() {
	s := load(10 + len(os.Args) - 1)
	width := 4
	peak := 0
	// The bound should be len-width; the window runs off the end.
	for start := 0; start <= len(s.samples)-width/2; start += 2 {
		if w := windowSum(s, start, width); w > peak {
			peak = w
		}
	}
	fmt.Println(s.name, "peak", peak)
}
