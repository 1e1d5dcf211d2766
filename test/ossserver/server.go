package ossserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Response and request header names used by OSS.
const (
	hdrRequestID          = "X-Oss-Request-Id"
	hdrEC                 = "X-Oss-Ec"
	hdrErr                = "X-Oss-Err"
	hdrCRC64              = "X-Oss-Hash-Crc64ecma"
	hdrObjectType         = "X-Oss-Object-Type"
	hdrNextAppendPosition = "X-Oss-Next-Append-Position"
	hdrForbidOverwrite    = "X-Oss-Forbid-Overwrite"
	hdrVersionID          = "X-Oss-Version-Id"
	hdrDeleteMarker       = "X-Oss-Delete-Marker"
	hdrStorageClass       = "X-Oss-Storage-Class"
	hdrSecurityToken      = "X-Oss-Security-Token"
	hdrOSSDate            = "X-Oss-Date"
	hdrContentSHA256      = "X-Oss-Content-Sha256"
	hdrCopySource         = "X-Oss-Copy-Source"
	hdrMetadataDirective  = "X-Oss-Metadata-Directive"
	hdrRangeBehavior      = "X-Oss-Range-Behavior"
	metaPrefix            = "x-oss-meta-"
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
	// Buckets are created at start when they do not exist yet.
	Buckets []string
	// Dir, when set, makes the server disk-backed: objects and metadata
	// are files under Dir and survive a restart. Memory is used otherwise.
	// Two servers must not share a Dir at the same time.
	Dir string
	// Region is the region V4 signatures must be scoped to; DefaultRegion
	// when empty.
	Region string
	// Logf, when set, receives one line per failed request, injected fault
	// and internal error.
	Logf func(format string, args ...any)
	// Now is the clock that stamps objects' LastModified; default
	// time.Now. Signature times are always checked against the real clock,
	// as the SDK signs with it.
	Now func() time.Time
}

// Server is an OSS protocol server. Its methods are safe for concurrent use.
type Server struct {
	region  string
	creds   map[string]Credential
	logf    func(format string, args ...any)
	now     func() time.Time
	backend backend

	// mu is the one lock around every check-then-write: it guards buckets,
	// every bucketState and all backend mutations.
	mu      sync.Mutex
	buckets map[string]*bucketState

	faults faultInjector
	stats  statsCollector

	requestPrefix string
	requestSeq    atomic.Uint64

	// life guards active and closed, which let Close wait for handlers.
	life    sync.Mutex
	idle    *sync.Cond
	active  int
	closed  bool
	httpSrv *http.Server
	ln      net.Listener
	url     string
}

// New returns a Server that is not listening; serve it with Handler, or use
// Start instead.
func New(opts Options) (*Server, error) {
	if len(opts.Credentials) == 0 {
		return nil, errors.New("ossserver: at least one credential is required")
	}
	s := &Server{
		region:  opts.Region,
		creds:   map[string]Credential{},
		logf:    opts.Logf,
		now:     opts.Now,
		buckets: map[string]*bucketState{},
	}
	if s.now == nil {
		s.now = time.Now
	}
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
		if _, dup := s.creds[c.AccessKeyID]; dup {
			return nil, fmt.Errorf("ossserver: duplicate access key id %q", c.AccessKeyID)
		}
		s.creds[c.AccessKeyID] = c
	}
	var prefix [4]byte
	if _, err := rand.Read(prefix[:]); err != nil {
		return nil, fmt.Errorf("ossserver: request id prefix: %w", err)
	}
	s.requestPrefix = strings.ToUpper(hex.EncodeToString(prefix[:]))
	s.faults.init()

	if opts.Dir != "" {
		b, err := newDiskBackend(opts.Dir)
		if err != nil {
			return nil, err
		}
		s.backend = b
	} else {
		s.backend = newMemBackend()
	}
	loaded, err := s.backend.load()
	if err != nil {
		return nil, fmt.Errorf("ossserver: loading %s: %w", opts.Dir, err)
	}
	for _, b := range loaded {
		s.buckets[b.name] = b
	}
	for _, name := range opts.Buckets {
		if err := s.CreateBucket(name); err != nil && !errors.Is(err, errBucketExists) {
			return nil, err
		}
	}
	return s, nil
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
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.httpSrv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(logWriter(s.logf), "ossserver: http: ", 0),
	}
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
// made by Start; it is empty for a Server made by New.
func (s *Server) URL() string { return s.url }

// Endpoint returns the endpoint to pass to oss.New; it is the same as URL.
// With an IP endpoint the SDK uses path-style URLs, which the server
// requires.
func (s *Server) Endpoint() string { return s.url }

// Addr returns the listening address of a Server made by Start.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Region returns the region V4 signatures must be scoped to.
func (s *Server) Region() string { return s.region }

// Handler returns the server's HTTP handler, for use with net/http or
// httptest. Serve it over HTTP/1.1: connection-reset faults hijack the
// connection.
func (s *Server) Handler() http.Handler { return s }

// Close stops a started server, waits for running handlers to return and
// releases the storage. A disk-backed server can be started again on the
// same Dir afterwards.
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

	s.mu.Lock()
	defer s.mu.Unlock()
	if cerr := s.backend.close(); cerr != nil && err == nil {
		err = cerr
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
	s.active--
	if s.active == 0 {
		s.idle.Broadcast()
	}
}

func (s *Server) newRequestID() string {
	return fmt.Sprintf("%s%016X", s.requestPrefix, s.requestSeq.Add(1))
}

// request is one OSS API request being served.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	id     string
	bucket string
	key    string
	query  queryParams
	op     *operation
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		w.Header().Set("Connection", "close")
		writeError(w, r, s.newRequestID(), errServiceUnavailable())
		return
	}
	defer s.leave()

	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}

	rq := &request{w: w, r: r, id: s.newRequestID()}
	w.Header().Set(hdrRequestID, rq.id)
	w.Header().Set("Server", "AliyunOSS")

	routeErr := s.route(rq)
	s.stats.countRequest(rq.op.name)

	action := s.faults.decide(r.Context(), rq.op.name, &s.stats)
	switch action {
	case faultError503, faultError500:
		e := errServiceUnavailable()
		if action == faultError500 {
			e = errInternal()
		}
		s.logf("ossserver: %s %s %s: injected %s", rq.id, rq.op.name, r.URL.Path, e.code)
		s.stats.countError(e.code)
		writeError(w, r, rq.id, e)
		return
	case faultReset:
		s.logf("ossserver: %s %s %s: injected connection reset", rq.id, rq.op.name, r.URL.Path)
		resetConnection(w)
		return
	case faultCanceled:
		return
	}
	if action == faultLostResponse {
		// Apply the request, then drop the answer and reset the connection.
		rq.w = newDiscardWriter()
	}

	// Authenticate first, so that unauthenticated callers learn nothing
	// about routing; route errors are only reported after it.
	err := s.authenticate(rq)
	if err == nil && routeErr != nil {
		err = routeErr
	}
	if err == nil {
		err = rq.op.checkParams(rq)
	}
	if err == nil {
		err = rq.op.handle(s, rq)
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			s.logf("ossserver: %s %s %s: internal error: %v", rq.id, rq.op.name, r.URL.Path, err)
			ae = errInternal()
		} else {
			s.logf("ossserver: %s %s %s: %d %s: %s", rq.id, rq.op.name, r.URL.Path, ae.status, ae.code, ae.message)
		}
		s.stats.countError(ae.code)
		writeError(rq.w, r, rq.id, ae)
	}
	if action == faultLostResponse {
		s.logf("ossserver: %s %s %s: injected lost response (request applied)", rq.id, rq.op.name, r.URL.Path)
		resetConnection(w)
	}
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

func newDiscardWriter() *discardWriter               { return &discardWriter{h: http.Header{}} }
func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(io.Discard, r)
}

// sleepCtx waits for d or until ctx is done, reporting whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
