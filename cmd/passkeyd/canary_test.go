package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of loggers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSecretsNeverLeak runs the whole story with the connector's HTTP
// debug log on and every log line captured at debug level, then looks for
// each secret the story handled (client secret or certificate key, admin
// token, invitation code, device token, keystore passphrase) in the logs
// and in every file of the data directory (database, WAL, keystore).
func TestSecretsNeverLeak(t *testing.T) {
	for _, cred := range []string{"secret", "certificate"} {
		t.Run(cred, func(t *testing.T) {
			var logs syncBuffer
			var mu sync.Mutex
			var secrets []string
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var out bytes.Buffer
			err := runDemo(ctx, &out, demoOptions{
				exit: true, dataDir: dir, listen: "127.0.0.1:0", credential: cred,
				httpDebug: true, logOutput: &logs,
				onSecret: func(s string) { mu.Lock(); secrets = append(secrets, s); mu.Unlock() },
			})
			if err != nil {
				t.Fatalf("demo: %v\n%s", err, out.String())
			}
			if len(secrets) < 5 {
				t.Fatalf("the demo reported %d secrets, want at least 5", len(secrets))
			}
			// The invitation code is shown once on the demo's own output:
			// the collected values are the real ones.
			shown := 0
			for _, s := range secrets {
				if strings.Contains(out.String(), s) {
					shown++
				}
			}
			if shown != 1 {
				t.Fatalf("%d collected secrets appear in the demo's output, want exactly the invitation code", shown)
			}
			l := logs.String()
			for _, want := range []string{"graph http request", "graph http response", "/oauth2/v2.0/token", "fido2Methods"} {
				if !strings.Contains(l, want) {
					t.Fatalf("the HTTP debug log lacks %q: the canary check would prove nothing", want)
				}
			}
			files := map[string][]byte{"logs": []byte(l)}
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					b, rerr := os.ReadFile(p)
					if rerr == nil {
						files[p] = b
					}
				}
				return nil
			})
			for _, s := range secrets {
				for name, b := range files {
					if bytes.Contains(b, []byte(s)) {
						t.Errorf("secret %.6s… found in %s", s, name)
					}
				}
			}
		})
	}
}
