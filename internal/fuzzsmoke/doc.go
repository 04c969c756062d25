// Package fuzzsmoke holds one test: it runs the fuzzing engine on every
// fuzz target of the module for a few seconds each, so the plain
// `go test ./...` (the README's and CI's command) exercises each target's
// engine, not only its seed corpus.
package fuzzsmoke
