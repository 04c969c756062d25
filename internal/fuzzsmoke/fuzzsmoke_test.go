package fuzzsmoke

import (
	"bufio"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fuzzTime is each target's fuzzing budget; PASSKEYD_FUZZTIME overrides it
// (a count like 2000x, or a duration). A count, not a duration: with a
// duration Go 1.26's fuzzing coordinator can report its own deadline as a
// failure ("context deadline exceeded", no crasher: go.dev/issue/75804,
// fixed in Go 1.27), which failed CI once.
const fuzzTime = "10000x"

var fuzzFunc = regexp.MustCompile(`^func (Fuzz\w+)\(\w+ \*testing\.F\)`)

// target is one fuzz function and the package directory holding it.
type target struct{ dir, name string }

// TestFuzzSmoke runs `go test -fuzz` on every Fuzz function in the
// module. A crash the engine finds fails the test with its output (and
// the failing input is saved under the package's testdata/fuzz).
func TestFuzzSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("fuzz smoke skipped in -short mode; run `go test ./internal/fuzzsmoke` to fuzz every target for a few seconds")
	}
	gobin, err := goBinary()
	if err != nil {
		t.Skipf("fuzz smoke needs the go command: %v", err)
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	targets, err := findTargets(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) < 10 {
		t.Fatalf("found %d fuzz targets under %s, want at least the 10 the project has: is the scan broken?", len(targets), root)
	}
	ft := fuzzTime
	if v := os.Getenv("PASSKEYD_FUZZTIME"); v != "" {
		ft = v
	}
	for _, tg := range targets {
		rel, _ := filepath.Rel(root, tg.dir)
		t.Run(filepath.ToSlash(rel)+"/"+tg.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, gobin, "test", "-run", "^$",
				"-fuzz", "^"+tg.name+"$", "-fuzztime", ft, "-parallel", "2", ".")
			cmd.Dir = tg.dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go test -fuzz %s in %s: %v\n%s", tg.name, rel, err, out)
			}
			if !strings.Contains(string(out), "ok") {
				t.Fatalf("go test -fuzz %s: unexpected output\n%s", tg.name, out)
			}
		})
	}
}

func goBinary() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	return exec.LookPath(filepath.Join(runtime.GOROOT(), "bin", "go"))
}

// moduleRoot is the directory of go.mod above this package.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// findTargets lists every Fuzz function in the module's _test.go files.
func findTargets(root string) ([]target, error) {
	var out []target
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if m := fuzzFunc.FindStringSubmatch(sc.Text()); m != nil {
				out = append(out, target{dir: filepath.Dir(path), name: m[1]})
			}
		}
		return sc.Err()
	})
	return out, err
}
