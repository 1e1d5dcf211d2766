package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mediastate/shared/signature"
	"mediastate/shared/trigger"
	tt "mediastate/shared/trigger/triggertest"
	"mediastate/test/fcemu"
	"mediastate/test/localstack"
	"mediastate/test/ossserver"
)

// The hostile request kinds: what an anonymous caller can send to the
// public HTTP triggers (no valid signature: the keys are not theirs).
var hostileKinds = []string{
	"unsigned",       // a distinct plausible callback, no signature
	"empty",          // identical empty POSTs
	"control-1MiB",   // 1 MiB of byte 0x01 (6 MiB escaped in the FC event)
	"deep-10000",     // a body nested 10,000 levels deep
	"oversized-5MiB", // 5 MiB body
	"live-poison",    // an unsigned Live callback naming a victim domain, to liverecord
}

// victimDomain is the Live domain the poisoning requests name.
const victimDomain = "victim.example.com"

// HostileReport is what the hostile scenario measured.
type HostileReport struct {
	Mixed map[string]int // hostile requests sent during the lifecycle load, by kind
	// Alone is the number of hostile requests of the isolated phase, and
	// what they left in the bucket (objects and bytes, everything
	// included); VictimRecords counts the victim domain's Live records.
	Alone, VictimRecords       int
	StoredObjects, StoredBytes int64
	// Peak RSS (VmHWM, reset before each burst; the worst of three) of the
	// one media instance under 32 concurrent signed worst-case requests at
	// the size limit, and under 8 concurrent 5 MiB requests.
	RSSAtLimit, RSSOver int64
	RunningAtLimit      int
	Problems            []string
	mu                  sync.Mutex
}

func (h *HostileReport) problem(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.Problems) < 20 {
		h.Problems = append(h.Problems, "hostile: "+fmt.Sprintf(format, args...))
	}
}

// hostileBody returns the body of hostile request n of kind.
func hostileBody(kind string, n int) []byte {
	switch kind {
	case "unsigned":
		return fmt.Appendf(nil, `{"EventType":"FileUploadComplete","EventTime":"2024-01-01T00:00:00Z","VideoId":"hostile%06d","Status":"success","Pad":%q}`,
			n, strings.Repeat("x", 2000))
	case "control-1MiB":
		return bytes.Repeat([]byte{0x01}, 1<<20)
	case "deep-10000":
		return []byte(`{"EventType":"SnapshotComplete","EventTime":"2024-01-01T00:00:00Z","VideoId":"deep","X":` +
			strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`)
	case "oversized-5MiB":
		return bytes.Repeat([]byte("a"), 5<<20)
	case "live-poison":
		return fmt.Appendf(nil, `{"domain":%q,"app":"evil%d","stream":"s","event":"record_started","pad":%q}`, victimDomain, n, strings.Repeat("p", 4000))
	}
	return nil
}

// not4xx returns "" when an invocation was answered with a 4xx (with
// outcome refused when refused is set), and what it got otherwise.
func not4xx(res *fcemu.Result, err error, refused bool) string {
	var hr trigger.HTTPResponse
	switch {
	case err != nil:
		return err.Error()
	case res.Error == nil && json.Unmarshal(res.Payload, &hr) == nil && hr.StatusCode >= 400 && hr.StatusCode < 500 &&
		(!refused || strings.Contains(hr.Body, `"outcome":"refused"`)):
		return ""
	}
	return fmt.Sprintf("%.200s", res.Payload)
}

// sendHostile sends hostile request n of kind, from an anonymous client,
// and checks that it was refused with a 4xx answer.
func sendHostile(ctx context.Context, env *Env, rep *HostileReport, kind string, n int) {
	fn := map[bool]string{true: "liverecord", false: "media"}[kind == "live-poison"]
	reqID := fmt.Sprintf("hostile-%s-%d", kind, n)
	res, err := env.Invoke(ctx, fn, httpEvent(env, fn, hostileBody(kind, n), nil, reqID, "198.51.100.66:40000"), reqID)
	if p := not4xx(res, err, true); p != "" && ctx.Err() == nil {
		rep.problem("%s #%d answered %s", kind, n, p)
	}
}

// startHostile sends hostile requests from workers goroutines, kinds in
// turn, until the returned function is called.
func startHostile(ctx context.Context, env *Env, workers int) func() *HostileReport {
	ctx, cancel := context.WithCancel(ctx)
	rep := &HostileReport{Mixed: map[string]int{}}
	done := make(chan struct{})
	var next atomic.Int64
	go func() {
		defer close(done)
		forEach(workers, workers, func(int) {
			for n := int(next.Add(1)); ctx.Err() == nil; n = int(next.Add(1)) {
				kind := hostileKinds[n%len(hostileKinds)]
				sendHostile(ctx, env, rep, kind, n)
				rep.mu.Lock()
				rep.Mixed[kind]++
				rep.mu.Unlock()
			}
		})
	}()
	return func() *HostileReport {
		cancel()
		<-done
		return rep
	}
}

// hostileAfter runs the isolated phases after the mixed load: 20 of every
// kind alone (what they store), then the two memory bursts on the media
// instance.
func hostileAfter(ctx context.Context, env *Env, rep *HostileReport) error {
	objs := BucketObjects{env.Client}
	before, err := objs.List(ctx, env.Prefix)
	for i := 0; i < 20 && err == nil; i++ {
		for _, kind := range hostileKinds {
			sendHostile(ctx, env, rep, kind, 1_000_000+i)
			rep.Alone++
		}
	}
	after, err2 := objs.List(ctx, env.Prefix)
	victims, err3 := objs.List(ctx, env.Prefix+"live/records/"+victimDomain+"/")
	if err := errors.Join(err, err2, err3); err != nil {
		return err
	}
	rep.StoredObjects, rep.StoredBytes, rep.VictimRecords = int64(len(after)-len(before)), total(after)-total(before), len(victims)
	if rep.StoredObjects != 0 || rep.StoredBytes != 0 || rep.VictimRecords != 0 {
		rep.problem("%d requests stored %d objects (%d bytes); %d victim records", rep.Alone, rep.StoredObjects, rep.StoredBytes, rep.VictimRecords)
	}
	if len(env.Functions) == 0 {
		return nil // in process: no RSS figures
	}

	media := env.Functions["media"]
	// burst sends n payloads at once, three times, with the peak RSS reset
	// before each, and returns the worst peak.
	burst := func(what string, n int, payload func(round, i int) []byte) int64 {
		var worst int64
		for round := 0; round < 3; round++ {
			payloads := make([][]byte, n)
			for i := range payloads {
				payloads[i] = payload(round, i)
			}
			for _, pid := range media.PIDs() {
				// Writing 5 to clear_refs resets VmHWM; our own child, by its id.
				_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
			}
			forEach(n, n, func(i int) {
				res, err := env.Invoke(ctx, "media", payloads[i], fmt.Sprintf("mem-%s-%d-%d", what, round, i))
				if p := not4xx(res, err, false); p != "" {
					rep.problem("%s #%d answered %s", what, i, p)
				}
			})
			worst = max(worst, slices.Max(append(media.PeakRSS(), 0)))
		}
		return worst
	}
	// 32 concurrent signed worst cases at the limit: control characters
	// (six bytes each in the event), and nesting as deep as the limit
	// allows bytes for. Signed, so that each is decoded and dead-lettered:
	// the most work a request within the limit can cause. Slow storage
	// keeps every request in flight (writing its letter) until all 32
	// have arrived, so that they hold their memory at the same time.
	if err := env.OSS.SetFaults(ossserver.Faults{Latency: 300 * time.Millisecond}); err != nil {
		return err
	}
	rep.RSSAtLimit = burst("at-limit", 32, func(round, i int) []byte {
		n := round*32 + i // new bodies: new letters
		body := append(bytes.Repeat([]byte{0x01}, trigger.MaxHTTPBodySize-16), fmt.Appendf(nil, "%08d", n)...)
		if i%2 == 1 {
			body = append(fmt.Appendf(nil, `{"n":%d,"x":`, n), bytes.Repeat([]byte("["), trigger.MaxHTTPBodySize-32)...)
		}
		h := tt.SignedHeaders(signature.VOD, env.callbackURL("media"), localstack.LocalVODKey, time.Now())
		return httpEvent(env, "media", body, h, fmt.Sprintf("mem-limit-%d", n), "198.51.100.66:40000")
	})
	_, running := env.PeakRSS()
	rep.RunningAtLimit = running["media"]
	// 8 concurrent 5 MiB requests over the limit.
	big := httpEvent(env, "media", hostileBody("oversized-5MiB", 0), nil, "mem-over", "198.51.100.66:40000")
	rep.RSSOver = burst("over-limit", 8, func(int, int) []byte { return big })
	return env.OSS.SetFaults(ossserver.Faults{})
}
