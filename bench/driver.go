package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Load runs Total operations on Workers goroutines (worker w always gets
// its own w, so each can own a provider), timing each with Now.
type Load struct {
	Workers int
	Total   int
	Now     func() time.Time
	// Progress, if set, is told the number of operations done after each.
	Progress func(done int)
	// Rate, if positive, paces the run open-loop: operation i is due at
	// start + i/Rate whatever the workers are doing, and its latency is
	// counted from when it was due, so time spent waiting for a free
	// worker is counted too (no coordinated omission). Zero runs
	// closed-loop: each worker starts its next operation when the last
	// one ends.
	Rate float64
}

// Result is what a Load run measured.
type Result struct {
	Wall    time.Duration
	Latency Latency
	Errors  int
	// FirstErr is the first operation error, for the report.
	FirstErr error
}

// Run calls op Total times over Workers goroutines. An op error is
// counted, not fatal; a cancelled ctx stops the run and is returned.
func (l Load) Run(ctx context.Context, op func(ctx context.Context, worker int) error) (Result, error) {
	if l.Workers <= 0 || l.Total < 0 {
		return Result{}, fmt.Errorf("bench: load of %d operations on %d workers", l.Total, l.Workers)
	}
	now := l.Now
	if now == nil {
		now = time.Now
	}
	var (
		rec      Recorder
		next     atomic.Int64 // operations handed out
		done     atomic.Int64
		errs     atomic.Int64
		firstMu  sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	start := now()
	// due hands out the operations: their due times when paced.
	var due chan time.Time
	if l.Rate > 0 {
		due = make(chan time.Time, l.Total)
		go func() {
			defer close(due)
			for i := range l.Total {
				at := start.Add(time.Duration(float64(i) / l.Rate * float64(time.Second)))
				if d := at.Sub(now()); d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
						return
					}
				}
				due <- at
			}
		}()
	}
	take := func() (time.Time, bool) {
		if due == nil {
			return now(), next.Add(1) <= int64(l.Total) && ctx.Err() == nil
		}
		at, ok := <-due
		return at, ok && ctx.Err() == nil
	}
	for w := range l.Workers {
		wg.Go(func() {
			for {
				t0, ok := take()
				if !ok {
					return
				}
				err := op(ctx, w)
				if err == nil {
					rec.Add(now().Sub(t0))
				} else {
					errs.Add(1)
					firstMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					firstMu.Unlock()
				}
				n := done.Add(1)
				if l.Progress != nil {
					l.Progress(int(n))
				}
			}
		})
	}
	wg.Wait()
	res := Result{Wall: now().Sub(start), Latency: rec.Summary(), Errors: int(errs.Load()), FirstErr: firstErr}
	if err := ctx.Err(); err != nil {
		return res, errors.Join(errors.New("bench: load interrupted"), err)
	}
	return res, nil
}

// Throughput is successful operations per second of wall time.
func (r Result) Throughput() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return float64(r.Latency.Count) / r.Wall.Seconds()
}
