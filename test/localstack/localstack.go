// Package localstack runs the whole system on loopback: the disk-backed
// OSS-protocol server (or a real OSS bucket), every function under
// functions/ as its real binary behind the FC runtime-API emulator (or, with
// Options.InProcess, built in this process as its main builds it), and an
// HTTP front door:
//
//	POST /<function>          acts as the function's FC 3.0 HTTP trigger
//	POST /<function>/invoke   invokes it with the request body as the raw
//	                          event (like FC InvokeFunction: MNS/EventBridge shapes)
//	GET  /-/state/media/<id>  the current state of a media asset
//	GET  /                    what listens where
//
// It is what the README's run command starts (binaries), and what the
// end-to-end tests (in process) and the load harness (either) drive.
package localstack

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mediastate/shared/localdefaults"
	"mediastate/shared/media"
	"mediastate/shared/ossx"
	"mediastate/shared/statestore"
	tt "mediastate/shared/trigger/triggertest"
	"mediastate/test/fcemu"
	"mediastate/test/ossserver"
)

// Local credentials and keys. They protect nothing: the stack listens on
// loopback only.
const (
	LocalAccessKeyID     = localdefaults.AccessKeyID
	LocalAccessKeySecret = localdefaults.AccessKeySecret
	LocalBucket          = localdefaults.Bucket
	LocalVODKey          = "local-vod-key"
	LocalIMSKey          = "local-ims-key"
	LocalLiveKey         = "local-live-key"
	// LocalQueryToken is the default bearer token of liverecordquery
	// (Options.QueryToken; the local command's MEDIASTATE_QUERY_TOKEN).
	LocalQueryToken = localdefaults.QueryToken
	// SweepFunction is the function run by a timer instead of callbacks.
	SweepFunction = "sweep"
)

// What every function is told of its platform: region, account and memory.
const (
	region    = "cn-local"
	accountID = "1234567890"
	memoryMB  = 128
)

// Options configure a Stack.
type Options struct {
	// Root is the repository root (holding go.mod); found from the working
	// directory when empty.
	Root string
	// Addr is the front door's listen address; default 127.0.0.1:8080.
	Addr string
	// OSSAddr is the embedded OSS server's address; default 127.0.0.1:9000.
	OSSAddr string
	// DataDir holds the embedded OSS server's files; empty means memory.
	DataDir string
	// ExternalOSS, when its Endpoint and Bucket are set, is used instead of
	// the embedded server (credentials from its Key).
	ExternalOSS *External
	// Functions limits the functions started; default every directory
	// under functions/.
	Functions []string
	// InProcess builds each function in this process with NewHandler, as
	// its main does, instead of running its binary behind the emulator:
	// nothing is built, and Stack.Functions stays empty. The functions see
	// the same environment and, per invocation, the same FC context.
	InProcess bool
	// Env is extra environment for every function, "KEY=value".
	Env []string
	// AuthOff starts the functions with CALLBACK_AUTH=off.
	AuthOff bool
	// Instances per function; default 1.
	Instances int
	// Timeout is the functions' execution timeout; default 30 s.
	Timeout time.Duration
	// Log receives the functions' output; default discarded (kept for
	// fcemu's Logs). In process the functions' loggers write their JSON
	// lines to it.
	Log io.Writer
	// QueryToken is liverecordquery's QUERY_TOKEN; default LocalQueryToken.
	QueryToken string
	// BinCache, when set, keeps the built function binaries in this
	// directory by a hash of the sources, so that a restart with nothing
	// changed builds nothing. Empty: build for this process only.
	BinCache string
	// SweepEvery, when positive and the sweep function runs, invokes it
	// with a timer event at this interval (FC runs it hourly).
	SweepEvery time.Duration
}

// External describes a real OSS bucket.
type External struct {
	Endpoint, Bucket, Region string
	Key                      ossx.Key
}

// ExternalFromEnv reads OSS_ENDPOINT, OSS_BUCKET, OSS_REGION and the
// credentials variables; nil when OSS_ENDPOINT or OSS_BUCKET is unset.
func ExternalFromEnv() *External {
	e := &External{Endpoint: os.Getenv("OSS_ENDPOINT"), Bucket: os.Getenv("OSS_BUCKET"), Region: os.Getenv("OSS_REGION"),
		Key: ossx.Key{AccessKeyID: os.Getenv("OSS_ACCESS_KEY_ID"), AccessKeySecret: os.Getenv("OSS_ACCESS_KEY_SECRET"),
			SecurityToken: os.Getenv("OSS_SESSION_TOKEN")}}
	if e.Endpoint == "" || e.Bucket == "" {
		return nil
	}
	return e
}

// Stack is a running local system.
type Stack struct {
	// URL is the front door's base URL.
	URL string
	// OSS is the embedded server, nil with an external bucket.
	OSS *ossserver.Server
	// OSSEndpoint and Bucket say where state is kept.
	OSSEndpoint, Bucket string
	// Functions maps a function name to its emulated function; empty in
	// process.
	Functions map[string]*fcemu.Function
	// Reader reads media state.
	Reader *media.Reader
	// Bucket client used by Reader (requests counted in its Totals).
	Client *ossx.Bucket
	// Prefix is the functions' STATE_PREFIX.
	Prefix string
	// OSSRegion is the region V4 signatures must be scoped to.
	OSSRegion string
	// QueryToken is liverecordquery's bearer token.
	QueryToken string
	// Cached lists the functions whose binaries came from Options.BinCache.
	Cached []string
	// SweepEvery is the interval of the local sweep timer (0: none).
	SweepEvery time.Duration

	fns       map[string]function
	stopTimer chan struct{}
	front     *http.Server
	ln        net.Listener
	binDir    string
	reqSeq    atomic.Uint64
	closeMu   sync.Once
}

// FindRoot returns the directory holding go.mod, from dir upwards.
func FindRoot(dir string) (string, error) { return fcemu.ModuleRoot(dir) }

// FunctionNames lists the function directories under root/functions.
func FunctionNames(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(root, "functions", e.Name(), "main.go")); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

// Start builds and starts everything. Close stops it.
func Start(ctx context.Context, o Options) (s *Stack, err error) {
	if o.Root == "" {
		if o.Root, err = FindRoot("."); err != nil {
			return nil, err
		}
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8080"
	}
	if o.OSSAddr == "" {
		o.OSSAddr = localdefaults.OSSAddr
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if len(o.Functions) == 0 {
		if o.Functions, err = FunctionNames(o.Root); err != nil {
			return nil, err
		}
	}
	if o.QueryToken == "" {
		o.QueryToken = LocalQueryToken
	}
	s = &Stack{Functions: map[string]*fcemu.Function{}, fns: map[string]function{}, Prefix: localdefaults.Prefix, QueryToken: o.QueryToken, stopTimer: make(chan struct{})}
	// Every error return sets s to nil: close what was started through a
	// copy.
	started := s
	defer func() {
		if err != nil {
			started.Close()
		}
	}()

	// The front door listens first, so its URL can be the functions'
	// configured callback URL.
	if s.ln, err = net.Listen("tcp", o.Addr); err != nil {
		return nil, fmt.Errorf("front door: %w", err)
	}
	s.URL = "http://" + s.ln.Addr().String()

	key := ossx.Key{AccessKeyID: LocalAccessKeyID, AccessKeySecret: LocalAccessKeySecret}
	ossRegion := ""
	if e := o.ExternalOSS; e != nil {
		s.OSSEndpoint, s.Bucket, key, ossRegion = e.Endpoint, e.Bucket, e.Key, e.Region
		s.OSSRegion = e.Region
	} else {
		s.OSS, err = ossserver.Start(ossserver.Options{
			Credentials: []ossserver.Credential{{AccessKeyID: LocalAccessKeyID, AccessKeySecret: LocalAccessKeySecret}},
			Buckets:     []string{LocalBucket}, Dir: o.DataDir,
		}, o.OSSAddr)
		if err != nil {
			return nil, fmt.Errorf("OSS server: %w", err)
		}
		s.OSSEndpoint, s.Bucket, s.OSSRegion = s.OSS.URL(), LocalBucket, s.OSS.Region()
	}
	if s.Client, err = ossx.New(ossx.Config{Endpoint: s.OSSEndpoint, Bucket: s.Bucket, Region: ossRegion, Credentials: ossx.NewCredentials(key)}); err != nil {
		return nil, err
	}
	if s.Reader, err = media.NewReader(s.Client, s.Prefix); err != nil {
		return nil, err
	}

	var bins map[string]string
	if !o.InProcess {
		if s.binDir, err = os.MkdirTemp("", "mediastate-bin-"); err != nil {
			return nil, err
		}
		if bins, s.Cached, err = buildAll(ctx, o.Root, o.Functions, o.BinCache, s.binDir); err != nil {
			return nil, err
		}
	}
	creds := fcemu.Credentials{AccessKeyID: key.AccessKeyID, AccessKeySecret: key.AccessKeySecret, SecurityToken: key.SecurityToken}
	logger := slog.New(slog.NewJSONHandler(cmp.Or(o.Log, io.Discard), nil))
	for _, fn := range o.Functions {
		env := []string{
			"OSS_ENDPOINT=" + s.OSSEndpoint, "OSS_BUCKET=" + s.Bucket, "STATE_PREFIX=" + s.Prefix,
			"CALLBACK_ALLOW_HTTP=true", "VOD_CALLBACK_URL=" + s.URL + "/" + fn, "VOD_CALLBACK_KEYS=" + LocalVODKey,
			"IMS_CALLBACK_URL=" + s.URL + "/" + fn, "IMS_CALLBACK_KEYS=" + LocalIMSKey,
			"LIVE_CALLBACK_URL=" + s.URL + "/" + fn, "LIVE_CALLBACK_KEYS=" + LocalLiveKey,
			"QUERY_TOKEN=" + s.QueryToken,
		}
		if ossRegion != "" {
			env = append(env, "OSS_REGION="+ossRegion)
		}
		if o.AuthOff {
			env = append(env, "CALLBACK_AUTH=off")
		}
		env = append(env, o.Env...)
		if o.InProcess {
			if s.fns[fn], err = startInProcess(fn, env, o, creds, logger); err != nil {
				return nil, err
			}
			continue
		}
		f, err := fcemu.Start(ctx, fcemu.Config{
			Name: fn, Binary: bins[fn], Env: env, Timeout: o.Timeout, Instances: o.Instances, Credentials: creds,
			Region: region, AccountID: accountID, MemoryMB: memoryMB, Stdout: o.Log, Stderr: o.Log,
		})
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", fn, err)
		}
		s.Functions[fn], s.fns[fn] = f, emulated{f}
	}

	s.front = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.front.Serve(s.ln)
	if f := s.fns[SweepFunction]; f != nil && o.SweepEvery > 0 {
		s.SweepEvery = o.SweepEvery
		go s.sweepTimer(f, o.SweepEvery, o.Log)
	}
	return s, nil
}

// TimerEvent is the payload of an FC timer trigger invocation.
func TimerEvent(name string, now time.Time) []byte {
	b, _ := json.Marshal(map[string]string{"triggerTime": now.UTC().Format(time.RFC3339), "triggerName": name, "payload": ""})
	return b
}

// sweepTimer invokes the sweep function every interval, as FC's timer
// trigger does, until the stack closes.
func (s *Stack) sweepTimer(f function, every time.Duration, log io.Writer) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-s.stopTimer:
			return
		case now := <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			res, err := f.invoke(ctx, TimerEvent("hourly", now), s.requestID())
			cancel()
			if log != nil && (err != nil || res.Error != nil) {
				fmt.Fprintf(log, "local sweep timer: %v %v\n", err, res)
			}
		}
	}
}

// Close stops the front door, the functions and the OSS server.
func (s *Stack) Close() error {
	var errs []error
	s.closeMu.Do(func() {
		close(s.stopTimer)
		if s.front != nil {
			errs = append(errs, s.front.Close())
		} else if s.ln != nil {
			errs = append(errs, s.ln.Close())
		}
		for _, f := range s.fns {
			errs = append(errs, f.close())
		}
		if s.OSS != nil {
			errs = append(errs, s.OSS.Close())
		}
		if s.binDir != "" {
			errs = append(errs, os.RemoveAll(s.binDir))
		}
	})
	return errors.Join(errs...)
}

// Invoke invokes the function fn with payload as the event, as FC's
// InvokeFunction does, under requestID (a fresh one when empty); in process
// or through the emulator, the answer is the emulator's Result (Instance is
// the index of the instance that ran it, PID 0 in process).
func (s *Stack) Invoke(ctx context.Context, fn string, payload []byte, requestID string) (*fcemu.Result, error) {
	f, ok := s.fns[fn]
	if !ok {
		return nil, fmt.Errorf("no function %q; functions: %s", fn, strings.Join(s.Names(), ", "))
	}
	return f.invoke(ctx, payload, cmp.Or(requestID, s.requestID()))
}

// Names returns the running functions, sorted.
func (s *Stack) Names() []string {
	names := make([]string, 0, len(s.fns))
	for n := range s.fns {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ServeHTTP is the front door.
func (s *Stack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(r.URL.Path, "/")
	switch {
	case path == "" && r.Method == http.MethodGet:
		fmt.Fprint(w, s.Banner())
		return
	case strings.HasPrefix(path, "-/state/media/") && r.Method == http.MethodGet:
		s.serveState(w, r, strings.TrimPrefix(path, "-/state/media/"))
		return
	}
	fn, rest, _ := strings.Cut(path, "/")
	f, ok := s.fns[fn]
	if !ok {
		http.Error(w, fmt.Sprintf("no function %q; functions: %s", fn, strings.Join(s.Names(), ", ")), http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if rest == "invoke" && r.Method == http.MethodPost {
		s.serveInvoke(w, r, f, body)
		return
	}
	s.serveHTTPTrigger(w, r, f, fn, body)
}

func (s *Stack) requestID() string {
	return fmt.Sprintf("local-%d-%06d", os.Getpid(), s.reqSeq.Add(1))
}

func (s *Stack) serveHTTPTrigger(w http.ResponseWriter, r *http.Request, f function, fn string, body []byte) {
	id := s.requestID()
	ev := tt.JSON(tt.HTTPEventOf(r, body, id, time.Now()))
	res, err := f.invoke(r.Context(), ev, id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("X-Fc-Request-Id", id)
	if res.Error != nil {
		writeFCError(w, http.StatusBadGateway, res)
		return
	}
	var out struct {
		StatusCode      int               `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
		Body            string            `json:"body"`
	}
	if err := json.Unmarshal(res.Payload, &out); err != nil || out.StatusCode == 0 {
		// Not an HTTP answer: FC would pass the output through as the body.
		w.Header().Set("Content-Type", "application/json")
		w.Write(res.Payload)
		return
	}
	for k, v := range out.Headers {
		w.Header().Set(k, v)
	}
	b := []byte(out.Body)
	if out.IsBase64Encoded {
		if b, err = base64.StdEncoding.DecodeString(out.Body); err != nil {
			http.Error(w, "function answered invalid base64", http.StatusBadGateway)
			return
		}
	}
	w.WriteHeader(out.StatusCode)
	w.Write(b)
}

func (s *Stack) serveInvoke(w http.ResponseWriter, r *http.Request, f function, body []byte) {
	id := s.requestID()
	res, err := f.invoke(r.Context(), body, id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("X-Fc-Request-Id", id)
	w.Header().Set("Content-Type", "application/json")
	if res.Error != nil {
		// Like FC's InvokeFunction: the error document, flagged by header.
		writeFCError(w, http.StatusOK, res)
		return
	}
	w.Write(res.Payload)
}

func writeFCError(w http.ResponseWriter, status int, res *fcemu.Result) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Fc-Error-Type", "UnhandledInvocationError")
	w.WriteHeader(status)
	if len(res.Payload) > 0 {
		w.Write(res.Payload)
		return
	}
	json.NewEncoder(w).Encode(res.Error)
}

func (s *Stack) serveState(w http.ResponseWriter, r *http.Request, id string) {
	m, ver, err := s.Reader.Get(r.Context(), id)
	switch {
	case errors.Is(err, statestore.ErrNotFound):
		http.Error(w, "no state for "+id, http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-State-Version", strconv.FormatUint(ver, 10))
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(m)
}

// Banner says where everything listens and how to use it.
func (s *Stack) Banner() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mediastate local stack\n\n")
	if s.OSS != nil {
		fmt.Fprintf(&b, "OSS (embedded)   %s  bucket %s  key %s / %s\n", s.OSSEndpoint, s.Bucket, LocalAccessKeyID, LocalAccessKeySecret)
		fmt.Fprintf(&b, "OSS clients      path-style addressing required (http://host:port/<bucket>/<key>; Go SDK v2: WithUsePathStyle(true), ali-oss: sldEnable: true);\n")
		fmt.Fprintf(&b, "                 signature V1 (Date or x-oss-date) or V4 with region %s\n", s.OSSRegion)
	} else {
		fmt.Fprintf(&b, "OSS (external)   %s  bucket %s\n", s.OSSEndpoint, s.Bucket)
	}
	fmt.Fprintf(&b, "state prefix     %s\n", s.Prefix)
	fmt.Fprintf(&b, "query token      %s\n", s.QueryToken)
	fmt.Fprintf(&b, "\nfunctions:\n")
	for _, n := range s.Names() {
		switch n {
		case SweepFunction:
			every := "not scheduled (run it by hand)"
			if s.SweepEvery > 0 {
				every = "every " + s.SweepEvery.String()
			}
			fmt.Fprintf(&b, "  %-16s timer trigger, %s; run it now:\n", n, every)
			fmt.Fprintf(&b, "  %-16s   curl -s -d '{\"triggerName\":\"hourly\",\"payload\":\"\"}' %s/%s/invoke\n", "", s.URL, n)
		case "liverecordquery":
			fmt.Fprintf(&b, "  %-16s GET  %s/%s?DomainName=...&StartTime=...&EndTime=...  with -H 'Authorization: Bearer %s'\n", n, s.URL, n, s.QueryToken)
		default:
			fmt.Fprintf(&b, "  %-16s POST %s/%s  (HTTP trigger)   POST %s/%s/invoke  (raw event)\n", n, s.URL, n, s.URL, n)
		}
	}
	fmt.Fprintf(&b, "\nHTTP callbacks must be signed (CALLBACK_AUTH=off to disable): callback URL = the function's URL above,\n")
	fmt.Fprintf(&b, "keys: VOD %q, IMS %q, Live %q. Example (VOD):\n", LocalVODKey, LocalIMSKey, LocalLiveKey)
	fmt.Fprintf(&b, "  ts=$(date +%%s); url=%s/transcode\n", s.URL)
	fmt.Fprintf(&b, "  sig=$(printf '%%s' \"$url|$ts|%s\" | md5sum | cut -d' ' -f1)\n", LocalVODKey)
	fmt.Fprintf(&b, "  curl -s -H \"X-VOD-TIMESTAMP: $ts\" -H \"X-VOD-SIGNATURE: $sig\" --data-binary @shared/callback/testdata/vod-transcode-complete.json $url\n")
	fmt.Fprintf(&b, "MNS-shaped deliveries need no signature:\n")
	fmt.Fprintf(&b, "  curl -s --data-binary @shared/trigger/testdata/<fixture>.json %s/upload/invoke\n", s.URL)
	fmt.Fprintf(&b, "Read a state:\n  curl -s %s/-/state/media/<MediaId>\n", s.URL)
	if s.OSS != nil {
		fmt.Fprintf(&b, "  go run ./cmd/mediastate get <MediaId>     (the operator CLI; also list, history, deadletters, live query, sweep --dry-run)\n")
	}
	fmt.Fprintf(&b, "Replay dead letters of a function:\n  curl -s -d '{\"mediastate\":{\"action\":\"replay-dead-letters\"}}' %s/upload/invoke\n", s.URL)
	return b.String()
}
