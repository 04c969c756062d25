package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzLoadConfig: whatever the config file holds, loading it never
// panics; a config it accepts validates again and survives a YAML round
// trip unchanged; a refusal says where the problem is, by key or by line.
func FuzzLoadConfig(f *testing.F) {
	for _, seed := range []string{
		defaultConfigYAML,
		"",
		"listen: [\n",
		"listen: 0.0.0.0:9000\nlisten: 0.0.0.0:9001\n",
		"jobs:\n  concurrency: x\n",
		"jobs:\n  concurrency: 0\n",
		"colour: red\n",
		"a: &a [*a, *a]\n",
		"log: {level: loud, format: xml}\n",
		"graph_write_rate: .nan\n",
		"previous_master_key_files: a\n",
		"dev: yes\n",
		"---\n---\n",
		"database:\n  url: mysql://x\ntls:\n  cert_file: c\n",
	} {
		f.Add([]byte(seed))
	}
	keys := yamlKeys(reflect.TypeFor[Config](), "")
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "passkeyd.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := loadConfig(path, envOf(nil))
		if err != nil {
			if msg := strings.ReplaceAll(err.Error(), path, "FILE"); !mentionsKeyOrLine(msg, keys) {
				t.Fatalf("error names no key and no line: %q", msg)
			}
			return
		}
		if err := c.validate(); err != nil {
			t.Fatalf("accepted config does not validate: %v", err)
		}
		out, err := yaml.Marshal(&c)
		if err != nil {
			t.Fatalf("accepted config does not marshal: %v", err)
		}
		back := defaultConfig()
		if err := decodeConfig(out, &back); err != nil {
			t.Fatalf("accepted config does not decode again: %v\n%s", err, out)
		}
		// Compared as YAML: an absent list and an empty one are the
		// same setting.
		if again, err := yaml.Marshal(&back); err != nil || string(again) != string(out) {
			t.Fatalf("config changes in a round trip (%v):\n%s\n%s", err, out, again)
		}
	})
}

// mentionsKeyOrLine reports whether msg points at a line of the file or
// starts one of its lines with a config key ("jobs.concurrency: ...").
func mentionsKeyOrLine(msg string, keys []string) bool {
	if strings.Contains(msg, "line ") {
		return true
	}
	for _, l := range strings.Split(msg, "\n") {
		for _, k := range keys {
			if strings.HasPrefix(l, k+": ") {
				return true
			}
		}
	}
	return false
}

// yamlKeys lists the dotted YAML keys of t, sections included.
func yamlKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		keys = append(keys, prefix+name)
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, yamlKeys(f.Type, prefix+name+".")...)
		}
	}
	return keys
}
