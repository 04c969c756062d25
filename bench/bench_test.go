package bench

import (
	"bufio"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	d := make([]time.Duration, 100)
	for i := range d {
		d[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{d, 50, 50 * time.Millisecond},
		{d, 99, 99 * time.Millisecond},
		{d, 100, 100 * time.Millisecond},
		{d[:1], 99, time.Millisecond},
		{d[:3], 50, 2 * time.Millisecond},
		{nil, 50, 0},
	}
	for _, tt := range tests {
		if got := Percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("Percentile(%d samples, %g) = %v, want %v", len(tt.in), tt.p, got, tt.want)
		}
	}
}

func TestRecorderSummary(t *testing.T) {
	var r Recorder
	for _, ms := range []int{4, 1, 3, 2} {
		r.Add(time.Duration(ms) * time.Millisecond)
	}
	want := Latency{Count: 4, MeanMS: 2.5, P50MS: 2, P99MS: 4, MaxMS: 4}
	if got := r.Summary(); got != want {
		t.Errorf("Summary = %+v, want %+v", got, want)
	}
}

func TestParseStatus(t *testing.T) {
	ok := "Name:\tx\nVmHWM:\t   2048 kB\nVmRSS:\t   1024 kB\nThreads:\t3\n"
	m, err := parseStatus(bufio.NewScanner(strings.NewReader(ok)))
	if err != nil || m != (Memory{RSSBytes: 1 << 20, PeakRSSBytes: 2 << 20}) {
		t.Errorf("parseStatus = %+v, %v", m, err)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tx kB\n"} {
		if _, err := parseStatus(bufio.NewScanner(strings.NewReader(bad))); err == nil {
			t.Errorf("parseStatus(%q) accepted", bad)
		}
	}
}

// fakeClock advances a fixed step on every reading, so that latencies
// are deterministic.
type fakeClock struct{ n atomic.Int64 }

func (c *fakeClock) Now() time.Time {
	return time.Unix(0, 0).Add(time.Duration(c.n.Add(1)) * time.Millisecond)
}

func TestLoadRun(t *testing.T) {
	var calls [3]atomic.Int64
	var progress atomic.Int64
	l := Load{Workers: 3, Total: 10, Now: (&fakeClock{}).Now, Progress: func(n int) { progress.Store(max(progress.Load(), int64(n))) }}
	boom := errors.New("boom")
	res, err := l.Run(context.Background(), func(_ context.Context, w int) error {
		if calls[w].Add(1) == 2 && w == 0 {
			return boom
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	total := calls[0].Load() + calls[1].Load() + calls[2].Load()
	if total != 10 || progress.Load() != 10 {
		t.Errorf("ran %d operations, progress %d; want 10, 10", total, progress.Load())
	}
	if res.Latency.Count+res.Errors != 10 || res.Errors > 1 || (res.Errors == 1) != errors.Is(res.FirstErr, boom) {
		t.Errorf("result = %+v", res)
	}
	if _, err := (Load{Workers: 0, Total: 1}).Run(context.Background(), nil); err == nil {
		t.Error("zero workers accepted")
	}
}

func TestLoadRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	_, err := Load{Workers: 2, Total: 1000}.Run(ctx, func(context.Context, int) error {
		if n.Add(1) == 5 {
			cancel()
		}
		return nil
	})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n.Load() >= 1000 {
		t.Errorf("ran all %d operations after cancel", n.Load())
	}
}

// A paced run starts operations on schedule, not when a worker frees up,
// and counts latency from when each was due: with one worker taking 20 ms
// per operation and one due every 5 ms, the backlog shows in the latency.
func TestLoadRunPacedCountsQueueing(t *testing.T) {
	res, err := Load{Workers: 1, Total: 20, Rate: 200}.Run(context.Background(), func(context.Context, int) error {
		time.Sleep(20 * time.Millisecond)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The last operation was due at 95 ms and cannot end before 400 ms.
	if res.Latency.Count != 20 || res.Latency.MaxMS < 300 {
		t.Errorf("paced result %+v: want 20 operations, the last waiting ≥ 300 ms", res.Latency)
	}

	// And no operation starts before it is due: 5 at 50/s take ≥ 80 ms.
	var first, last time.Time
	var mu sync.Mutex
	res, err = Load{Workers: 5, Total: 5, Rate: 50}.Run(context.Background(), func(context.Context, int) error {
		mu.Lock()
		defer mu.Unlock()
		if first.IsZero() {
			first = time.Now()
		}
		last = time.Now()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if gap := last.Sub(first); gap < 75*time.Millisecond {
		t.Errorf("5 operations at 50/s started within %v, want ≥ 80 ms", gap)
	}
}
