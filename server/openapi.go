package server

import (
	"bytes"
	_ "embed" // the OpenAPI document is compiled in
	"net/http"
)

// openAPIJSON is the OpenAPI 3.1 document of the API. Tests check it
// against the registered routes and the handlers' real responses, so it
// cannot silently drift from them. Treat it as read-only.
//
//go:embed openapi.json
var openAPIJSON []byte

// OpenAPIDocument returns the OpenAPI 3.1 document of the API, as served
// at GET /api/v1/openapi.json. The caller owns the returned slice.
func OpenAPIDocument() []byte { return bytes.Clone(openAPIJSON) }

// openAPI serves the OpenAPI document. It is public: it describes the
// API, which is no secret, and tools fetch it without credentials.
func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIJSON) // a write error means the client went away
	return nil
}
