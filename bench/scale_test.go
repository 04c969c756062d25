package bench

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestParseStatusSplitsRSS(t *testing.T) {
	in := "VmHWM:\t   4096 kB\nVmRSS:\t   3072 kB\nRssAnon:\t   2048 kB\nRssFile:\t   1024 kB\nRssShmem:\t0 kB\n"
	m, err := parseStatus(bufio.NewScanner(strings.NewReader(in)))
	want := Memory{RSSBytes: 3 << 20, PeakRSSBytes: 4 << 20, AnonBytes: 2 << 20, FileBytes: 1 << 20}
	if err != nil || m != want {
		t.Errorf("parseStatus = %+v, %v; want %+v", m, err, want)
	}
}

func TestReadProcessMemory(t *testing.T) {
	m, err := ReadProcessMemory(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if m.RSSBytes == 0 || m.PeakRSSBytes < m.RSSBytes || m.AnonBytes == 0 {
		t.Errorf("ReadProcessMemory(self) = %+v", m)
	}
	if _, err := ReadProcessMemory(0); err == nil {
		t.Error("ReadProcessMemory(0) succeeded")
	}
}

func TestScaleTable(t *testing.T) {
	mem := func(mib uint64) *Memory { return &Memory{RSSBytes: mib << 20, PeakRSSBytes: mib << 20} }
	r := &Report{Scale: []ScaleReport{
		{Store: "sqlite", Passkeys: 100000, Users: 66667, Devices: 100000, SeedSeconds: 4.5,
			Memory: *mem(40), MemoryAfterWalk: mem(45), MemoryAfterReconcile: mem(200),
			Queries: []QueryReport{{Name: "passkeys, first page", Latency: Latency{P50MS: 1.5, P99MS: 12}}}},
		{Store: "sqlite", Passkeys: 1000000, Memory: *mem(40), MemoryAfterReconcile: mem(140),
			Queries: []QueryReport{{Name: "passkeys, first page", Latency: Latency{P50MS: 1.7, P99MS: 4}}}},
		{Store: "postgres", Passkeys: 1000000, Memory: *mem(40), MemoryAfterReconcile: mem(440)},
	}}
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"sqlite 100k", "sqlite 1M", "postgres 1M", "200 MiB", "1.50 / 12 ms", "-", "MISS"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// The target applies at 1M: the 100k run's 200 MiB is no verdict, and
	// one miss at 1M makes the row a miss.
	if p := r.Scale[0].PeakRSS(); p != 200<<20 {
		t.Errorf("PeakRSS = %d", p)
	}
	r.Scale = r.Scale[:2]
	b.Reset()
	r.WriteTable(&b)
	if !strings.Contains(b.String(), "ok") || strings.Contains(b.String(), "MISS") {
		t.Errorf("a 1M run under the target should be ok:\n%s", b.String())
	}
}
