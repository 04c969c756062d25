// Package bench measures passkeyd: latency recording, process resource
// snapshots (CPU time, allocations, RSS), a concurrent load driver, the
// "direct" baseline enroller (a script talking to Graph without
// passkeyd) and the report `passkeyd bench` prints and writes as JSON.
//
// Nothing here asserts timings: figures are reported, and judged against
// the targets in docs/benchmarks.md.
package bench
