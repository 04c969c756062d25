package bodyio

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadAll(t *testing.T) {
	body := strings.Repeat("x", 3000)
	for _, tc := range []struct {
		name        string
		size, limit int64
	}{
		{"announced", 3000, 1 << 20},
		{"unknown", -1, 1 << 20},
		{"announced too small", 10, 1 << 20},
		{"announced too large", 1 << 40, 1 << 20},
		{"empty", 0, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := body
			if tc.size == 0 {
				in = ""
			}
			got, err := ReadAll(strings.NewReader(in), tc.size, tc.limit)
			if err != nil || string(got) != in {
				t.Fatalf("got %d bytes, %v; want %d bytes", len(got), err, len(in))
			}
			if int64(cap(got)) > max(tc.limit, 4096)+bytes512 {
				t.Errorf("capacity %d for a limit of %d: a false length must not size the buffer", cap(got), tc.limit)
			}
		})
	}
	// The reader's own error comes back with what was read.
	boom := errors.New("boom")
	got, err := ReadAll(io.MultiReader(strings.NewReader("abc"), errReader{boom}), 3, 100)
	if !errors.Is(err, boom) || string(got) != "abc" {
		t.Errorf("got %q, %v; want abc, boom", got, err)
	}
}

const bytes512 = 512

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func BenchmarkReadAll(b *testing.B) {
	body := strings.Repeat("x", 3000)
	b.Run("io.ReadAll", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = io.ReadAll(strings.NewReader(body))
		}
	})
	b.Run("bodyio.ReadAll", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = ReadAll(strings.NewReader(body), int64(len(body)), 1<<20)
		}
	})
}
