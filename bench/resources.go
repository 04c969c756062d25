package bench

import (
	"bufio"
	"fmt"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Usage is a snapshot of the process's cumulative resource use.
type Usage struct {
	At         time.Time
	CPU        time.Duration // user + system CPU time (getrusage RUSAGE_SELF)
	AllocBytes uint64        // cumulative heap allocation (runtime/metrics)
	AllocObjs  uint64        // cumulative heap objects allocated
}

var usageMetrics = []string{"/gc/heap/allocs:bytes", "/gc/heap/allocs:objects"}

// ReadUsage takes a snapshot. CPU time comes from getrusage(2), so it
// covers every goroutine of the process; allocations come from
// runtime/metrics (cumulative, no stop-the-world unlike ReadMemStats).
func ReadUsage(now time.Time) (Usage, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Usage{}, fmt.Errorf("getrusage: %w", err)
	}
	s := make([]metrics.Sample, len(usageMetrics))
	for i, n := range usageMetrics {
		s[i].Name = n
	}
	metrics.Read(s)
	u := Usage{At: now, CPU: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
	if s[0].Value.Kind() == metrics.KindUint64 {
		u.AllocBytes = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		u.AllocObjs = s[1].Value.Uint64()
	}
	return u, nil
}

// Cost is resource use between two snapshots.
type Cost struct {
	Wall       time.Duration
	CPU        time.Duration
	AllocBytes uint64
	AllocObjs  uint64
}

// Since is the cost from earlier to u.
func (u Usage) Since(earlier Usage) Cost {
	return Cost{
		Wall:       u.At.Sub(earlier.At),
		CPU:        u.CPU - earlier.CPU,
		AllocBytes: u.AllocBytes - earlier.AllocBytes,
		AllocObjs:  u.AllocObjs - earlier.AllocObjs,
	}
}

// Memory is a process's resident set from /proc/<pid>/status.
type Memory struct {
	RSSBytes     uint64 `json:"rss_bytes"`      // VmRSS now
	PeakRSSBytes uint64 `json:"peak_rss_bytes"` // VmHWM, the high-water mark
	// AnonBytes and FileBytes split VmRSS now: anonymous memory (heaps)
	// and pages of mapped files (the binary, memory-mapped databases).
	AnonBytes uint64 `json:"rss_anon_bytes,omitempty"` // RssAnon
	FileBytes uint64 `json:"rss_file_bytes,omitempty"` // RssFile
}

// maxStatusFile bounds the read of /proc/<pid>/status.
const maxStatusFile = 64 << 10

// ReadMemory reads this process's VmRSS and VmHWM (Linux only).
func ReadMemory() (Memory, error) { return readMemory("/proc/self/status") }

// ReadProcessMemory reads VmRSS and VmHWM of process pid (Linux only),
// e.g. a passkeyd server the benchmark started.
func ReadProcessMemory(pid int) (Memory, error) {
	if pid <= 0 {
		return Memory{}, fmt.Errorf("read RSS: no process %d", pid)
	}
	return readMemory(fmt.Sprintf("/proc/%d/status", pid))
}

func readMemory(path string) (Memory, error) {
	f, err := os.Open(path)
	if err != nil {
		return Memory{}, fmt.Errorf("read RSS: %w", err)
	}
	defer f.Close()
	return parseStatus(bufio.NewScanner(&limitedFile{f: f, left: maxStatusFile}))
}

func parseStatus(sc *bufio.Scanner) (Memory, error) {
	var m Memory
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		var dst *uint64
		switch k {
		case "VmRSS":
			dst = &m.RSSBytes
		case "VmHWM":
			dst = &m.PeakRSSBytes
		case "RssAnon":
			dst = &m.AnonBytes
		case "RssFile":
			dst = &m.FileBytes
		}
		if !ok || dst == nil {
			continue
		}
		f := strings.Fields(v) // "12345 kB"
		if len(f) != 2 || f[1] != "kB" {
			return Memory{}, fmt.Errorf("read RSS: unexpected %s line %q", k, v)
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("read RSS: %s: %w", k, err)
		}
		*dst = n << 10
	}
	if err := sc.Err(); err != nil {
		return Memory{}, fmt.Errorf("read RSS: %w", err)
	}
	if m.RSSBytes == 0 {
		return Memory{}, fmt.Errorf("read RSS: no VmRSS line in the process status")
	}
	return m, nil
}

type limitedFile struct {
	f    *os.File
	left int
}

func (l *limitedFile) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, fmt.Errorf("%s is larger than %d bytes", l.f.Name(), maxStatusFile)
	}
	if len(p) > l.left {
		p = p[:l.left]
	}
	n, err := l.f.Read(p)
	l.left -= n
	return n, err
}
