package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Limits of a checkpoint file: a line is about 250 bytes, and a file with
// a checkpoint every minute for ten years stays under the count.
const (
	maxCheckpointLine  = 4 << 10
	MaxCheckpointCount = 1 << 23
)

// WriteCheckpoint appends cp as one JSON line to the file at path,
// creating it (mode 0640) if needed, and syncs it to disk before
// returning. A last line left incomplete by a crash (no newline) is cut
// off first: it was never a whole checkpoint, and ReadCheckpoints skips
// it too. The file should
// live off the database host or be copied off it (to the SIEM, to WORM
// storage): whoever can rewrite both the database and this file can forge
// history.
func WriteCheckpoint(path string, cp Checkpoint) error {
	if cp.Seq < 1 || len(cp.Signature) == 0 {
		return passkeyd.Errorf(passkeyd.EInvalid, "checkpoint is not signed")
	}
	line, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("audit: encode checkpoint: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("audit: open checkpoint file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("audit: checkpoint file: %w", err)
	}
	if err := dropTornLine(f, info.Size()); err != nil {
		return err
	}
	// One write per line: O_APPEND keeps concurrent writers' lines whole.
	if _, err := f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("audit: write checkpoint: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("audit: sync checkpoint file: %w", err)
	}
	if info.Size() == 0 {
		// A new file's directory entry must reach the disk too.
		syncDir(filepath.Dir(path))
	}
	return f.Close()
}

// ReadCheckpoints reads a file WriteCheckpoint wrote, in file order. Empty
// lines are skipped, and so is a last line that has no newline and does
// not parse (a write cut short by a crash). Any other bad line is an
// error naming its line number: an unreadable checkpoint must not pass
// unnoticed.
func ReadCheckpoints(path string) ([]Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit: open checkpoint file: %w", err)
	}
	defer f.Close()
	return readCheckpoints(f)
}

func readCheckpoints(r io.Reader) ([]Checkpoint, error) {
	br := bufio.NewReaderSize(r, maxCheckpointLine+1)
	var cps []Checkpoint
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, passkeyd.Errorf(passkeyd.ETooLarge, "checkpoint file line %d is longer than %d bytes", n, maxCheckpointLine)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("audit: read checkpoint file line %d: %w", n, err)
		}
		complete := err == nil
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			var cp Checkpoint
			dec := json.NewDecoder(bytes.NewReader(trimmed))
			dec.DisallowUnknownFields()
			if derr := dec.Decode(&cp); derr != nil || dec.More() {
				if !complete {
					break // torn last write
				}
				return nil, passkeyd.Errorf(passkeyd.EInvalid, "checkpoint file line %d is not a checkpoint", n)
			}
			if len(cps) == MaxCheckpointCount {
				return nil, passkeyd.Errorf(passkeyd.ETooLarge, "checkpoint file has more than %d checkpoints", MaxCheckpointCount)
			}
			cps = append(cps, cp)
		}
		if !complete {
			break
		}
	}
	return cps, nil
}

// dropTornLine truncates f (of size bytes) after its last newline when it
// does not end with one.
func dropTornLine(f *os.File, size int64) error {
	if size == 0 {
		return nil
	}
	n := min(size, maxCheckpointLine+1)
	tail := make([]byte, n)
	if _, err := f.ReadAt(tail, size-n); err != nil {
		return fmt.Errorf("audit: checkpoint file: read tail: %w", err)
	}
	if tail[n-1] == '\n' {
		return nil
	}
	i := bytes.LastIndexByte(tail, '\n')
	if i < 0 && size > n {
		return passkeyd.Errorf(passkeyd.EInvalid, "checkpoint file ends with a line longer than %d bytes", maxCheckpointLine)
	}
	if err := f.Truncate(size - n + int64(i) + 1); err != nil {
		return fmt.Errorf("audit: checkpoint file: cut torn line: %w", err)
	}
	return nil
}

// syncDir flushes a directory entry; failure is not fatal (some file
// systems refuse to sync directories), the file itself is synced.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
