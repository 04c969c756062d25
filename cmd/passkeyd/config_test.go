package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "passkeyd.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		check   func(t *testing.T, c Config)
		wantErr []string // every one must appear
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			if c.Listen != "127.0.0.1:8080" || c.sqlitePath() != filepath.Join("data", "passkeyd.db") || c.Jobs.Concurrency != 16 {
				t.Errorf("defaults = %+v", c)
			}
		}},
		{name: "file and env; env wins", file: "listen: 0.0.0.0:9000\ndata_dir: /var/lib/p\nlog:\n  level: debug\n",
			env: map[string]string{"PASSKEYD_LISTEN": "127.0.0.1:7000", "PASSKEYD_BOOTSTRAP_TOKEN": strings.Repeat("x", 32)},
			check: func(t *testing.T, c Config) {
				if c.Listen != "127.0.0.1:7000" || c.DataDir != "/var/lib/p" || c.Log.Level != "debug" || c.bootstrapToken == "" {
					t.Errorf("config = %+v", c)
				}
				if c.sqlitePath() != "/var/lib/p/passkeyd.db" {
					t.Errorf("sqlitePath = %s", c.sqlitePath())
				}
			}},
		{name: "database url", env: map[string]string{"PASSKEYD_DATABASE_URL": "sqlite:///srv/x.db"}, check: func(t *testing.T, c Config) {
			if c.sqlitePath() != "/srv/x.db" {
				t.Errorf("sqlitePath = %s", c.sqlitePath())
			}
		}},
		{name: "unknown key", file: "listen: 127.0.0.1:1\nlisten_adress: x\n", wantErr: []string{"listen_adress"}},
		{name: "every problem at once",
			file:    "listen: nonsense\nlog:\n  level: loud\n  format: xml\njobs:\n  concurrency: 0\ntls:\n  cert_file: a.pem\n",
			env:     map[string]string{"PASSKEYD_BOOTSTRAP_TOKEN": "short"},
			wantErr: []string{"listen:", "log.level:", "log.format:", "jobs.concurrency:", "tls:", "PASSKEYD_BOOTSTRAP_TOKEN:"}},
		{name: "postgres", env: map[string]string{"PASSKEYD_DATABASE_URL": "postgres://db.internal/passkeyd"}, check: func(t *testing.T, c Config) {
			if !c.isPostgres() {
				t.Error("postgres:// not recognised")
			}
		}},
		{name: "unknown database", env: map[string]string{"PASSKEYD_DATABASE_URL": "mysql://x/y"}, wantErr: []string{"database.url"}},
		{name: "bad trusted proxy", file: "trusted_proxies: [10.0.0.0/8, 10.0.0.1]\n", wantErr: []string{"trusted_proxies[1]"}},
		{name: "bad env number", env: map[string]string{"PASSKEYD_JOBS_CONCURRENCY": "many"}, wantErr: []string{"PASSKEYD_JOBS_CONCURRENCY"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeConfig(t, tc.file)
			}
			c, err := loadConfig(path, envOf(tc.env))
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("want an error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestMasterKeyRequiredOutsideDevMode(t *testing.T) {
	cfg := defaultConfig()
	cfg.DataDir = t.TempDir()
	if _, err := loadMasterKey(cfg, nil); err == nil || !strings.Contains(err.Error(), "no master key") {
		t.Fatalf("err = %v, want a message saying how to create the key", err)
	}
	if _, err := os.Stat(cfg.masterKeyPath()); !os.IsNotExist(err) {
		t.Fatal("a key file was generated outside dev mode")
	}
}

func TestDefaultConfigYAMLMatchesDefaults(t *testing.T) {
	path := writeConfig(t, defaultConfigYAML)
	got, err := loadConfig(path, envOf(nil))
	if err != nil {
		t.Fatalf("the printed default config does not load: %v", err)
	}
	want := defaultConfig()
	// [] in the YAML decodes to an empty slice, the default is nil.
	got.PreviousMasterKeyFiles, want.PreviousMasterKeyFiles = nil, nil
	got.TrustedProxies, want.TrustedProxies = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("printed default config decodes to\n%+v\nwant\n%+v", got, want)
	}
}
