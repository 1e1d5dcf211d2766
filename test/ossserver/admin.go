package ossserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// adminPrefix is the path prefix of the admin endpoint. "-" is not a valid
// bucket name, so it cannot collide with OSS requests.
const adminPrefix = "/-/"

// serveAdmin serves the unauthenticated admin endpoint, for processes that
// cannot call the Go API (a load harness, say):
//
//	GET  /-/stats          Stats as JSON
//	POST /-/stats/reset    zero the counters
//	GET  /-/faults         current Faults as JSON
//	PUT  /-/faults         replace Faults (POST works too), JSON body
//	PUT  /-/versioning     {"bucket": "b", "status": "Enabled|Suspended|"}
//	GET  /-/healthz        200 "ok"
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /-/stats":
		writeJSON(w, http.StatusOK, s.Stats())
	case "POST /-/stats/reset":
		s.ResetStats()
		writeJSON(w, http.StatusOK, s.Stats())
	case "GET /-/faults":
		writeJSON(w, http.StatusOK, s.CurrentFaults())
	case "PUT /-/faults", "POST /-/faults":
		var f Faults
		if err := readJSON(r, &f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if err := s.SetFaults(f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, s.CurrentFaults())
	case "PUT /-/versioning", "POST /-/versioning":
		var v struct {
			Bucket string `json:"bucket"`
			Status string `json:"status"`
		}
		if err := readJSON(r, &v); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if err := s.SetVersioning(v.Bucket, v.Status); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, v)
	case "GET /-/healthz":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no admin route " + route})
	}
}

func readJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading body: %w", err)
	}
	return decodeStrict(body, v)
}

// decodeStrict decodes one JSON value, rejecting unknown fields.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding JSON: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("decoding JSON: trailing data")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error": "encoding response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
