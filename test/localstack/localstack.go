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
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mediastate/shared/fcapp"
	"mediastate/shared/localdefaults"
	"mediastate/shared/media"
	"mediastate/shared/ossx"
	"mediastate/shared/statestore"
	"mediastate/shared/trigger"
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
	SweepFunction = fcapp.SweepName
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
	// InProcess builds each function in this process with fcapp.Handler, as
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
	// BinCache keeps the built function binaries in this directory by a
	// hash of the sources, so that a start with nothing changed builds
	// nothing (tests starting several stacks share a t.TempDir() here).
	// Empty: build into a directory of the stack's, removed by Close.
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
	closeOnce sync.Once
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
	return names, nil // ReadDir sorts
}

// Start builds and starts everything. Close stops it.
func Start(ctx context.Context, o Options) (s *Stack, err error) {
	if o.Root == "" {
		if o.Root, err = FindRoot("."); err != nil {
			return nil, err
		}
	}
	o.Addr, o.OSSAddr = cmp.Or(o.Addr, "127.0.0.1:8080"), cmp.Or(o.OSSAddr, localdefaults.OSSAddr)
	o.Timeout, o.QueryToken = cmp.Or(o.Timeout, 30*time.Second), cmp.Or(o.QueryToken, LocalQueryToken)
	if len(o.Functions) == 0 {
		if o.Functions, err = FunctionNames(o.Root); err != nil {
			return nil, err
		}
	}
	s = &Stack{Functions: map[string]*fcemu.Function{}, fns: map[string]function{}, Prefix: localdefaults.Prefix, QueryToken: o.QueryToken, stopTimer: make(chan struct{})}
	started := s // every error return sets s to nil
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
	ossRegion := "" // V4 scope of the functions' client: the embedded server takes V1
	if e := o.ExternalOSS; e != nil {
		s.OSSEndpoint, s.Bucket, key, ossRegion, s.OSSRegion = e.Endpoint, e.Bucket, e.Key, e.Region, e.Region
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
		if bins, s.Cached, err = buildAll(ctx, o.Root, o.Functions, cmp.Or(o.BinCache, s.binDir)); err != nil {
			return nil, err
		}
	}
	creds := fcemu.Credentials{AccessKeyID: key.AccessKeyID, AccessKeySecret: key.AccessKeySecret, SecurityToken: key.SecurityToken}
	logger := slog.New(slog.NewJSONHandler(cmp.Or(o.Log, io.Discard), nil))
	auth := "required"
	if o.AuthOff {
		auth = "off"
	}
	for _, fn := range o.Functions {
		env := []string{
			"OSS_ENDPOINT=" + s.OSSEndpoint, "OSS_BUCKET=" + s.Bucket, "OSS_REGION=" + ossRegion, "STATE_PREFIX=" + s.Prefix,
			"CALLBACK_ALLOW_HTTP=true", "VOD_CALLBACK_URL=" + s.URL + "/" + fn, "VOD_CALLBACK_KEYS=" + LocalVODKey,
			"IMS_CALLBACK_URL=" + s.URL + "/" + fn, "IMS_CALLBACK_KEYS=" + LocalIMSKey,
			"LIVE_CALLBACK_URL=" + s.URL + "/" + fn, "LIVE_CALLBACK_KEYS=" + LocalLiveKey,
			"QUERY_TOKEN=" + s.QueryToken, "CALLBACK_AUTH=" + auth,
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
func TimerEvent(name string, now time.Time) []byte { return tt.TimerEvent(name, now) }

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
	s.closeOnce.Do(func() {
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

// Invoke invokes fn with payload as the event, as FC's InvokeFunction
// does, under requestID (a fresh one when empty). In process as through
// the emulator the answer is an fcemu.Result (in process, PID is 0).
func (s *Stack) Invoke(ctx context.Context, fn string, payload []byte, requestID string) (*fcemu.Result, error) {
	f, ok := s.fns[fn]
	if !ok {
		return nil, fmt.Errorf("no function %q; functions: %s", fn, strings.Join(s.Names(), ", "))
	}
	return f.invoke(ctx, payload, cmp.Or(requestID, s.requestID()))
}

// Names returns the running functions, sorted.
func (s *Stack) Names() []string { return slices.Sorted(maps.Keys(s.fns)) }

func (s *Stack) requestID() string { return fmt.Sprintf("local-%d-%06d", os.Getpid(), s.reqSeq.Add(1)) }

// ServeHTTP is the front door.
func (s *Stack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(r.URL.Path, "/")
	if r.Method == http.MethodGet && path == "" {
		fmt.Fprint(w, s.Banner())
		return
	}
	if id, ok := strings.CutPrefix(path, "-/state/media/"); ok && r.Method == http.MethodGet {
		s.serveState(w, r, id)
		return
	}
	fn, rest, _ := strings.Cut(path, "/")
	f, ok := s.fns[fn]
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	switch {
	case !ok:
		http.Error(w, fmt.Sprintf("no function %q; functions: %s", fn, strings.Join(s.Names(), ", ")), http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// POST /<fn>/invoke passes the body as the event; anything else is a
	// request to the HTTP trigger, passed as FC builds its event.
	raw := rest == "invoke" && r.Method == http.MethodPost
	id := s.requestID()
	payload := body
	if !raw {
		payload = tt.JSON(tt.HTTPEventOf(r, body, id, time.Now()))
	}
	res, err := f.invoke(r.Context(), payload, id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("X-Fc-Request-Id", id)
	w.Header().Set("Content-Type", "application/json")
	var ans trigger.HTTPResponse
	switch {
	case res.Error != nil:
		// As FC: the error document, flagged by a header; an HTTP trigger
		// answers 502, InvokeFunction 200.
		w.Header().Set("X-Fc-Error-Type", "UnhandledInvocationError")
		status := http.StatusBadGateway
		if raw {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		if len(res.Payload) == 0 {
			res.Payload, _ = json.Marshal(res.Error)
		}
		w.Write(res.Payload)
	case raw || json.Unmarshal(res.Payload, &ans) != nil || ans.StatusCode == 0:
		w.Write(res.Payload) // not an HTTP answer: FC passes the output through
	default:
		b := []byte(ans.Body)
		if ans.IsBase64Encoded {
			if b, err = base64.StdEncoding.DecodeString(ans.Body); err != nil {
				http.Error(w, "function answered invalid base64", http.StatusBadGateway)
				return
			}
		}
		for k, v := range ans.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(ans.StatusCode)
		w.Write(b)
	}
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
