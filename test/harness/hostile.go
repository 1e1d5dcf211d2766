package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mediastate/shared/ossx"
	"mediastate/shared/signature"
	"mediastate/shared/trigger"
	tt "mediastate/shared/trigger/triggertest"
	"mediastate/test/ossserver"
)

// The hostile request kinds: what an anonymous caller can send to the
// public HTTP triggers (no valid signature: the keys are not theirs).
const (
	HostileUnsigned  = "unsigned"       // a distinct plausible callback, no signature
	HostileEmpty     = "empty"          // identical empty POSTs
	HostileControl   = "control-1MiB"   // 1 MiB of byte 0x01 (6 MiB escaped in the FC event)
	HostileDeep      = "deep-10000"     // a body nested 10,000 levels deep
	HostileOversized = "oversized-5MiB" // 5 MiB body
	HostileLive      = "live-poison"    // an unsigned Live callback naming a victim domain
)

var hostileKinds = []string{HostileUnsigned, HostileEmpty, HostileControl, HostileDeep, HostileOversized, HostileLive}

// victimDomain is the Live domain the poisoning requests name.
const victimDomain = "victim.example.com"

// HostileReport is what the hostile scenario measured.
type HostileReport struct {
	// Mixed counts the hostile requests sent during the lifecycle load, by
	// kind; Unexpected lists answers that were not a 4xx refusal.
	Mixed      map[string]int
	Unexpected []string
	// Alone is the number of hostile requests of the isolated phase, and
	// what they left in the bucket (objects and bytes, everything
	// included).
	Alone                      int
	StoredObjects, StoredBytes int64
	// VictimRecords counts objects under the victim domain's records.
	VictimRecords int
	// Memory of the one media instance (VmHWM, reset before each burst;
	// the worst of memRounds bursts): 32 concurrent signed worst-case
	// requests at the size limit (control characters and deep nesting),
	// and 8 concurrent 5 MiB requests.
	RSSAtLimit, RSSOver int64
	RunningAtLimit      int
	MemProblems         []string
}

// hostilePayload returns the FC HTTP trigger event of one hostile request
// of kind to fn, as the front door would build it.
func hostilePayload(env *Env, fn, kind string, n int, now time.Time) []byte {
	var body []byte
	switch kind {
	case HostileUnsigned:
		body = fmt.Appendf(nil, `{"EventType":"FileUploadComplete","EventTime":"2024-01-01T00:00:00Z","VideoId":"hostile%06d","Status":"success","Pad":%q}`,
			n, strings.Repeat("x", 2000))
	case HostileEmpty:
	case HostileControl:
		body = bytes.Repeat([]byte{0x01}, 1<<20)
	case HostileDeep:
		body = []byte(`{"EventType":"SnapshotComplete","EventTime":"2024-01-01T00:00:00Z","VideoId":"deep","X":` +
			strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`)
	case HostileOversized:
		body = bytes.Repeat([]byte("a"), 5<<20)
	case HostileLive:
		body = fmt.Appendf(nil, `{"domain":%q,"app":"evil%d","stream":"s","event":"record_started","pad":%q}`, victimDomain, n, strings.Repeat("p", 4000))
	}
	return rawHTTPEvent(env, fn, body, nil, fmt.Sprintf("hostile-%s-%d", kind, n), now)
}

// rawHTTPEvent builds the FC HTTP trigger event of a request to fn with
// body and headers h (and Content-Type application/json unless h sets it),
// from a hostile client.
func rawHTTPEvent(env *Env, fn string, body []byte, h http.Header, reqID string, now time.Time) []byte {
	hh := http.Header{"Content-Type": {"application/json"}}
	for k, vs := range h {
		hh[k] = vs
	}
	return tt.JSON(tt.PostEvent(env.Keys.URL(fn), body, hh, "198.51.100.66:40000", reqID, now))
}

// hostileFn is the function a kind is sent to.
func hostileFn(kind string) string {
	if kind == HostileLive {
		return "liverecord"
	}
	return "media"
}

// sendHostile sends one hostile request and checks it was refused with a
// 4xx answer.
func sendHostile(ctx context.Context, env *Env, kind string, n int) string {
	fn := hostileFn(kind)
	ans, err := env.Invoke(ctx, fn, hostilePayload(env, fn, kind, n, time.Now()), fmt.Sprintf("hostile-%s-%d", kind, n))
	if err != nil {
		return fmt.Sprintf("%s #%d: %v", kind, n, err)
	}
	var hr trigger.HTTPResponse
	if ans.Failed || json.Unmarshal(ans.Payload, &hr) != nil || hr.StatusCode < 400 || hr.StatusCode >= 500 ||
		!strings.Contains(hr.Body, `"outcome":"refused"`) {
		return fmt.Sprintf("%s #%d answered %.200s %s", kind, n, ans.Payload, ans.Err)
	}
	return ""
}

// startHostile sends hostile requests from workers goroutines, kinds in
// turn, until the returned stop function is called; stop returns what was
// sent and the unexpected answers.
func startHostile(ctx context.Context, env *Env, workers int) func() (map[string]int, []string) {
	ctx, cancel := context.WithCancel(ctx)
	var mu sync.Mutex
	sent := map[string]int{}
	var bad []string
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				n := int(next.Add(1))
				kind := hostileKinds[n%len(hostileKinds)]
				p := sendHostile(ctx, env, kind, n)
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				sent[kind]++
				if p != "" && len(bad) < 10 {
					bad = append(bad, p)
				}
				mu.Unlock()
			}
		}()
	}
	return func() (map[string]int, []string) {
		cancel()
		wg.Wait()
		return sent, bad
	}
}

// bucketSize counts the objects and bytes under prefix.
func bucketSize(ctx context.Context, b *ossx.Bucket, prefix string) (int64, int64, error) {
	var n, size int64
	token := ""
	for {
		page, err := b.List(ctx, ossx.ListOptions{Prefix: prefix, ContinuationToken: token})
		if err != nil {
			return 0, 0, err
		}
		for _, o := range page.Objects {
			n++
			size += o.Size
		}
		if page.NextToken == "" {
			return n, size, nil
		}
		token = page.NextToken
	}
}

// hostileAfter runs the isolated phases after the mixed load: every kind
// alone (what it stores), then the two memory figures of the media
// instance.
func hostileAfter(ctx context.Context, env *Env, rep *HostileReport) error {
	n0, b0, err := bucketSize(ctx, env.Client, env.Prefix)
	if err != nil {
		return err
	}
	const perKind = 20
	for i := 0; i < perKind; i++ {
		for _, kind := range hostileKinds {
			if p := sendHostile(ctx, env, kind, 1_000_000+i); p != "" && len(rep.Unexpected) < 20 {
				rep.Unexpected = append(rep.Unexpected, p)
			}
			rep.Alone++
		}
	}
	n1, b1, err := bucketSize(ctx, env.Client, env.Prefix)
	if err != nil {
		return err
	}
	rep.StoredObjects, rep.StoredBytes = n1-n0, b1-b0
	v, _, err := bucketSize(ctx, env.Client, env.Prefix+"live/records/"+victimDomain+"/")
	if err != nil {
		return err
	}
	rep.VictimRecords = int(v)

	if env.Stack == nil {
		return nil // in process: no RSS figures
	}
	media := env.Stack.Functions["media"]
	resetHWM := func() {
		for _, pid := range media.PIDs() {
			if pid > 0 {
				// Writing 5 to clear_refs resets the peak RSS (VmHWM).
				_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
			}
		}
	}
	peak := func() int64 {
		var hi int64
		for _, v := range media.PeakRSS() {
			hi = max(hi, v)
		}
		return hi
	}
	// Each burst runs memRounds times; the worst peak counts.
	const memRounds = 3
	burst := func(n int, payload func(i int) []byte, what string) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ans, err := env.Invoke(ctx, "media", payload(i), fmt.Sprintf("mem-%s-%d", what, i))
				var hr trigger.HTTPResponse
				if err == nil && !ans.Failed && json.Unmarshal(ans.Payload, &hr) == nil && hr.StatusCode >= 400 && hr.StatusCode < 500 {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if len(rep.MemProblems) < 10 {
					rep.MemProblems = append(rep.MemProblems, fmt.Sprintf("%s #%d: %v %.200s %s", what, i, err, ans.Payload, ans.Err))
				}
			}()
		}
		wg.Wait()
	}
	// 32 concurrent signed worst cases at the limit: control characters
	// (six bytes each in the event), and nesting as deep as the limit
	// allows bytes for. Signed, so that each is decoded and dead-lettered:
	// the most work a request within the limit can cause.
	atLimit := func(i int) []byte {
		var body []byte
		if i%2 == 0 {
			body = append(bytes.Repeat([]byte{0x01}, trigger.MaxHTTPBodySize-16), fmt.Appendf(nil, "%08d", i)...)
		} else {
			body = append(fmt.Appendf(nil, `{"n":%d,"x":`, i), bytes.Repeat([]byte("["), trigger.MaxHTTPBodySize-32)...)
		}
		now := time.Now()
		url := env.Keys.URL("media")
		h := tt.SignedHeaders(signature.VOD, url, env.Keys.VOD, now)
		return rawHTTPEvent(env, "media", body, h, fmt.Sprintf("mem-limit-%d", i), now)
	}
	payloads := make([][]byte, 32)
	// Slow storage keeps every request in flight (writing its letter)
	// until all 32 have arrived: they hold their memory at the same time.
	if err := env.OSS.SetFaults(ossserver.Faults{Latency: 300 * time.Millisecond}); err != nil {
		return err
	}
	for r := 0; r < memRounds; r++ {
		for i := range payloads {
			payloads[i] = atLimit(r*len(payloads) + i) // new bodies: new letters
		}
		resetHWM()
		burst(32, func(i int) []byte { return payloads[i] }, "at-limit")
		rep.RSSAtLimit = max(rep.RSSAtLimit, peak())
	}
	if err := env.OSS.SetFaults(ossserver.Faults{}); err != nil {
		return err
	}
	for _, in := range media.Stats().Instances {
		rep.RunningAtLimit = max(rep.RunningAtLimit, in.PeakRunning)
	}
	// 8 concurrent 5 MiB requests over the limit.
	big := hostilePayload(env, "media", HostileOversized, 0, time.Now())
	for r := 0; r < memRounds; r++ {
		resetHWM()
		burst(8, func(int) []byte { return big }, "over-limit")
		rep.RSSOver = max(rep.RSSOver, peak())
	}
	return nil
}
