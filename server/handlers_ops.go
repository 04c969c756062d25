package server

import (
	"net/http"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server/api"
)

// healthz answers 200 whenever the process serves requests.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	s.writeJSON(w, r, http.StatusOK, api.Health{Status: "ok", Version: s.version})
	return nil
}

// readyz answers 200 when Config.Ready does, 503 otherwise. The cause is
// logged (by writeError), not shown: it may name hosts and files.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.ready != nil {
		if err := s.ready(r.Context()); err != nil {
			return passkeyd.WrapError(passkeyd.EUnavailable, err, "not ready")
		}
	}
	s.writeJSON(w, r, http.StatusOK, api.Health{Status: "ok"})
	return nil
}
