// Command pprof_labels runs its workers under pprof.Do with tenant/job labels.
// Most of them park; the reindex worker of tenant globex panics. Goroutines
// started inside a labelled function (the flushers, the reindex worker)
// inherit its labels.
package main

import (
	"context"
	"fmt"
	"runtime/pprof"
	"sync"
)

type job struct {
	tenant string
	name   string
}

type scheduler struct {
	parked sync.WaitGroup
	stop   chan struct{}
}

func (s *scheduler) idleWorker(ctx context.Context, j job) {
	done := make(chan struct{})
	// The flusher inherits the labels of the goroutine that starts it.
	go func() {
		s.parked.Done()
		<-s.stop
		close(done)
	}()
	s.parked.Done()
	<-done
}

func (s *scheduler) reindex(ctx context.Context, segments []int) {
	tenant, _ := pprof.Label(ctx, "tenant")
	for _, seg := range segments {
		if seg < 0 {
			panic(fmt.Sprintf("reindex %s: segment %d is corrupt", tenant, -seg))
		}
	}
}

func main() {
	ctx := context.Background()
	s := &scheduler{stop: make(chan struct{})}
	jobs := []job{{"acme", "invoice-7"}, {"acme", "export-3"}, {"globex", "report-12"}, {"initech", "backup-1"}}
	for _, j := range jobs {
		s.parked.Add(2)
		go pprof.Do(ctx, pprof.Labels("tenant", j.tenant, "job", j.name), func(ctx context.Context) {
			s.idleWorker(ctx, j)
		})
	}
	s.parked.Wait()

	crashed := make(chan struct{})
	go pprof.Do(ctx, pprof.Labels("tenant", "globex", "job", "reindex-9"), func(ctx context.Context) {
		// The reindex runs on a goroutine of its own, which inherits the labels. Had it panicked inside
		// pprof.Do, the deferred label restore of pprof.Do would have cleared the goroutine's labels
		// while the panic unwound, before the runtime printed them or dumped core.
		go func() {
			s.reindex(ctx, []int{1, 2, -3, 4})
			close(crashed)
		}()
		<-crashed
	})
	<-crashed
}
