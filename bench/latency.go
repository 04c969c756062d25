package bench

import (
	"slices"
	"sync"
	"time"
)

// Recorder collects operation latencies; safe for concurrent use.
type Recorder struct {
	mu sync.Mutex
	d  []time.Duration
}

// Add records one latency.
func (r *Recorder) Add(d time.Duration) {
	r.mu.Lock()
	r.d = append(r.d, d)
	r.mu.Unlock()
}

// Latency summarises recorded latencies, in milliseconds for JSON.
type Latency struct {
	Count  int     `json:"count"`
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms"`
	P99MS  float64 `json:"p99_ms"`
	MaxMS  float64 `json:"max_ms"`
}

// Summary computes the summary of what was recorded so far. Percentiles
// are nearest-rank: p99 of 500 samples is the 495th smallest.
func (r *Recorder) Summary() Latency {
	r.mu.Lock()
	d := slices.Clone(r.d)
	r.mu.Unlock()
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return Latency{
		Count:  len(d),
		MeanMS: ms(sum / time.Duration(len(d))),
		P50MS:  ms(Percentile(d, 50)),
		P99MS:  ms(Percentile(d, 99)),
		MaxMS:  ms(d[len(d)-1]),
	}
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted,
// or 0 when sorted is empty.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// Nearest rank: ceil(p/100 × n), 1-based.
	rank := int(p / 100 * float64(len(sorted)))
	if float64(rank) < p/100*float64(len(sorted)) {
		rank++
	}
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
