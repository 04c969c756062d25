// Package metrics exposes passkeyd's Prometheus metrics on its own
// registry (never the global default one), so that two daemons in one
// test process do not collide and nothing registers itself in init().
//
// Every instrument is named passkeyd_*; labels take values from small,
// fixed vocabularies so that no series is created per user or device.
//
//	passkeyd_graph_requests_total{op,status}           counter   one per HTTP attempt of a Graph call
//	passkeyd_graph_request_duration_seconds{op}        histogram time to the response headers
//	passkeyd_graph_throttled_total{op}                 counter   HTTP 429 answers
//	passkeyd_graph_throttle_wait_seconds               histogram Retry-After asked by a 429 (when present)
//	passkeyd_token_requests_total{outcome}             counter   token endpoint requests: success|failure
//	passkeyd_enrollments_total{outcome}                counter   finished enrollments by outcome
//	passkeyd_revocations_total{outcome}                counter   finished revocations by outcome
//	passkeyd_drift_methods{class}                      gauge     last reconciliation: missing|adopted|unmanaged
//	passkeyd_drift_last_reconcile_timestamp_seconds    gauge     when ObserveDrift was last called
//	passkeyd_job_queue_depth{queue,state}              gauge     jobs per queue and state, read at scrape
//	passkeyd_job_oldest_age_seconds{queue,state}       gauge     age of the oldest job per queue and state
//	passkeyd_credential_expiry_days{credential}        gauge     days until client_secret|client_certificate expires
//	passkeyd_collector_success{collector}              gauge     1 when a scrape-time source answered, else 0
//
// op is the Graph call: creationOptions, create, list, get, delete,
// fido2Policy. status is the HTTP status code ("200", "429", ...), "error"
// when no response arrived, or "other" for a code outside 100–599.
//
// Two sources are read at scrape time through functions injected in
// Options: the job queue (QueueStats) and the credential expiry dates
// (CredentialExpiry). A failing source is logged and its series left out
// of that scrape, with passkeyd_collector_success{collector} set to 0; the
// rest of the scrape is served as usual.
//
// All methods of a nil *Metrics do nothing, so packages can hold an
// optional one without checks.
package metrics
