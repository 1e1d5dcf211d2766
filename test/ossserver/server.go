// Package ossserver provides an Alibaba Cloud OSS protocol server for tests:
// a thin HTTP front (routing, authentication, XML, errors, faults) over the
// in-memory driver of package memstore, which holds the storage semantics.
//
// It listens on loopback and speaks the part of the OSS REST API the
// product uses (PutObject, GetObject, HeadObject, ListObjectsV2,
// DeleteObject, DeleteObjects, GetBucketVersioning) for the real
// github.com/aliyun/aliyun-oss-go-sdk/oss client with an IP endpoint
// (path-style URLs /bucket/key). It is as strict as OSS wherever the
// product depends on OSS semantics, so that tests do not pass by accident:
//
//   - PutObject refuses If-Match, If-None-Match, If-Modified-Since and
//     If-Unmodified-Since with 400 NotImplemented, as OSS does;
//     x-oss-forbid-overwrite: true answers 409 FileAlreadyExists when the
//     key exists, and is ignored when the bucket's versioning is Enabled
//     or Suspended.
//   - Every request is authenticated with signature V1 (Date or
//     x-oss-date) or V4 exactly as the SDKs compute it, including STS
//     security tokens and a 15 minute clock skew limit.
//   - Every other operation, sub-resource, query parameter, x-oss-* header,
//     range or conditional read is answered with 501 NotImplemented, never
//     silently ignored.
//
// Objects live in memory; with Options.Dir they are loaded from it at start
// and saved to it by Close. Faults (latency, 503, 500, connection resets
// and lost responses) are injected with SetFaults, and requests are
// counted per operation (Stats).
package ossserver

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mediastate/shared/ossx/memstore"
	"mediastate/shared/ossx/ossfault"
)

// Faults, FaultCounts and Stats are package ossfault's, under the names
// the server's users know.
type (
	Faults      = ossfault.Faults
	FaultCounts = ossfault.Counts
	Stats       = ossfault.Stats
)

// DefaultRegion is the region used when Options.Region is empty.
const DefaultRegion = "cn-hangzhou"

// Credential is an access key the server accepts.
type Credential struct {
	// AccessKeyID and AccessKeySecret are the key pair.
	AccessKeyID     string
	AccessKeySecret string
	// SecurityToken, when set, makes this an STS credential: every request
	// signed with it must carry this exact x-oss-security-token. A
	// credential without a token rejects requests that carry one.
	SecurityToken string
}

// Options configures a Server.
type Options struct {
	// Credentials are the accepted access keys; at least one is required.
	Credentials []Credential
	// Buckets are the buckets served.
	Buckets []string
	// Dir, when set, holds one file per bucket: loaded at start when it
	// exists, written by Close.
	Dir string
	// Region is the region V4 signatures must be scoped to; DefaultRegion
	// when empty.
	Region string
	// Logf, when set, receives one line per failed request and injected
	// fault.
	Logf func(format string, args ...any)
}

// Server is an OSS protocol server. Its methods are safe for concurrent use.
type Server struct {
	region  string
	creds   map[string]Credential
	logf    func(format string, args ...any)
	buckets map[string]*memstore.Store
	dir     string
	faults  *ossfault.Injector

	requestPrefix string
	requestSeq    atomic.Uint64

	// life guards active and closed, which let Close wait for handlers.
	life    sync.Mutex
	idle    *sync.Cond
	active  int
	closed  bool
	httpSrv *http.Server
	url     string
}

// New returns a Server that is not listening: it is an http.Handler (serve
// it over HTTP/1.1, as connection-reset faults hijack the connection), or
// use Start instead.
func New(opts Options) (*Server, error) {
	if len(opts.Credentials) == 0 {
		return nil, errors.New("ossserver: at least one credential is required")
	}
	s := &Server{region: opts.Region, creds: map[string]Credential{}, logf: opts.Logf,
		buckets: map[string]*memstore.Store{}, dir: opts.Dir, faults: ossfault.NewInjector()}
	s.idle = sync.NewCond(&s.life)
	if s.region == "" {
		s.region = DefaultRegion
	}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	for _, c := range opts.Credentials {
		if c.AccessKeyID == "" || c.AccessKeySecret == "" {
			return nil, errors.New("ossserver: credential with empty access key id or secret")
		}
		s.creds[c.AccessKeyID] = c
	}
	var prefix [4]byte
	_, _ = rand.Read(prefix[:]) // crypto/rand.Read never fails on supported platforms.
	s.requestPrefix = strings.ToUpper(hex.EncodeToString(prefix[:]))
	for _, name := range opts.Buckets {
		if !validBucketName(name) {
			return nil, fmt.Errorf("ossserver: invalid bucket name %q", name)
		}
		st := memstore.New(memstore.Options{})
		if s.dir != "" {
			if err := load(st, s.file(name)); err != nil {
				return nil, err
			}
		}
		s.buckets[name] = st
	}
	return s, nil
}

func (s *Server) file(bucket string) string { return filepath.Join(s.dir, bucket+".json") }

func load(st *memstore.Store, path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ossserver: %w", err)
	}
	defer f.Close()
	if err := st.Load(f); err != nil {
		return fmt.Errorf("ossserver: %s: %w", path, err)
	}
	return nil
}

// save writes every bucket to Dir, each through a temporary file.
func (s *Server) save() error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("ossserver: %w", err)
	}
	for name, st := range s.buckets {
		tmp, err := os.CreateTemp(s.dir, name+".*.tmp")
		if err != nil {
			return fmt.Errorf("ossserver: %w", err)
		}
		err = st.Save(tmp)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), s.file(name))
		}
		if err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("ossserver: save bucket %s: %w", name, err)
		}
	}
	return nil
}

// Start creates a Server and serves it on addr, such as "127.0.0.1:0".
func Start(opts Options, addr string) (*Server, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ossserver: listen on %s: %w", addr, err)
	}
	s.url = "http://" + ln.Addr().String()
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second,
		ErrorLog: log.New(logWriter(s.logf), "ossserver: http: ", 0)}
	go func() {
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logf("ossserver: serve: %v", err)
		}
	}()
	return s, nil
}

// logWriter adapts a Logf function to an io.Writer for log.Logger.
type logWriter func(format string, args ...any)

func (l logWriter) Write(p []byte) (int, error) {
	l("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// URL returns the base URL, such as http://127.0.0.1:41234, of a Server
// made by Start; it is the endpoint to give the SDK (an IP endpoint makes
// it use the path-style URLs the server requires).
func (s *Server) URL() string { return s.url }

// Endpoint is URL.
func (s *Server) Endpoint() string { return s.url }

// Region returns the region V4 signatures must be scoped to.
func (s *Server) Region() string { return s.region }

// SetFaults replaces the injected faults; they apply to requests that
// arrive afterwards.
func (s *Server) SetFaults(f Faults) error { return s.faults.Set(f) }

// Stats returns a copy of the request, error and fault counters.
func (s *Server) Stats() Stats { return s.faults.Stats() }

// ResetStats zeroes the counters.
func (s *Server) ResetStats() { s.faults.ResetStats() }

// SetVersioning sets a bucket's versioning status: "Enabled", "Suspended",
// or "" for never enabled, which OSS cannot go back to.
func (s *Server) SetVersioning(bucket, status string) error {
	st := s.buckets[bucket]
	if st == nil {
		return fmt.Errorf("ossserver: no bucket %q", bucket)
	}
	return st.SetVersioning(status)
}

// Close stops a started server, waits for running handlers to return and,
// with Options.Dir, saves the buckets there.
func (s *Server) Close() error {
	s.life.Lock()
	if s.closed {
		s.life.Unlock()
		return nil
	}
	s.closed = true
	s.life.Unlock()
	var err error
	if s.httpSrv != nil {
		// Close, not Shutdown: it also breaks connections of handlers that
		// are waiting for injected latency, which watch the request context.
		err = s.httpSrv.Close()
	}
	s.life.Lock()
	for s.active > 0 {
		s.idle.Wait()
	}
	s.life.Unlock()
	if s.dir != "" {
		err = errors.Join(err, s.save())
	}
	return err
}

// enter registers a running handler; it reports false after Close.
func (s *Server) enter() bool {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return false
	}
	s.active++
	return true
}

func (s *Server) leave() {
	s.life.Lock()
	defer s.life.Unlock()
	if s.active--; s.active == 0 {
		s.idle.Broadcast()
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := fmt.Sprintf("%s%016X", s.requestPrefix, s.requestSeq.Add(1))
	if !s.enter() {
		w.Header().Set("Connection", "close")
		writeError(w, r, id, errServiceUnavailable())
		return
	}
	defer s.leave()
	rq := &request{w: w, r: r, id: id}
	w.Header().Set(hdrRequestID, id)
	w.Header().Set("Server", "AliyunOSS")
	routeErr := s.route(rq)

	action := s.faults.Decide(r.Context(), rq.op.name)
	switch action {
	case ossfault.Error503, ossfault.Error500:
		e := errServiceUnavailable()
		if action == ossfault.Error500 {
			e = errInternal()
		}
		s.fail(rq, e, "injected")
		return
	case ossfault.Reset:
		s.logf("ossserver: %s %s %s: injected connection reset", id, rq.op.name, r.URL.Path)
		resetConnection(w)
		return
	case ossfault.Canceled:
		return
	case ossfault.LostResponse:
		// Apply the request, then drop the answer and reset the connection.
		rq.w = discardWriter{h: http.Header{}}
		defer func() {
			s.logf("ossserver: %s %s %s: injected lost response (request applied)", id, rq.op.name, r.URL.Path)
			resetConnection(w)
		}()
	}
	// Authenticate first, so that unauthenticated callers learn nothing
	// about routing; route errors are only reported after it.
	err := s.authenticate(rq)
	if err == nil && routeErr != nil {
		err = routeErr
	}
	if err == nil {
		err = rq.op.handle(s, rq)
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			s.logf("ossserver: %s %s %s: internal error: %v", id, rq.op.name, r.URL.Path, err)
			ae = errInternal()
		}
		s.fail(rq, ae, "")
	}
}

// fail answers e and counts it.
func (s *Server) fail(rq *request, e *apiError, how string) {
	s.logf("ossserver: %s %s %s: %s %d %s: %s", rq.id, rq.op.name, rq.r.URL.Path, how, e.status, e.code, e.message)
	s.faults.CountError(e.code)
	writeError(rq.w, rq.r, rq.id, e)
}

// resetConnection closes the client connection abruptly with a TCP RST and
// without an HTTP response.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): make net/http abort the response.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // Best effort: a plain close is still a lost response.
	}
	_ = conn.Close()
}

// discardWriter is a ResponseWriter that throws the response away.
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) WriteHeader(int)             {}
func (d discardWriter) Write(p []byte) (int, error) { return io.Discard.Write(p) }
