package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"mediastate/shared/fcapp"
	"mediastate/test/fcemu"
)

// Handler is what a function's main hands to fc.Start.
type Handler = func(ctx context.Context, payload []byte) (any, error)

// function is a function of a stack: its binary behind the emulator
// (emulated), or its handlers in this process (inProcess).
type function interface {
	invoke(ctx context.Context, payload []byte, requestID string) (*fcemu.Result, error)
	close() error
}

type emulated struct{ *fcemu.Function }

func (e emulated) invoke(ctx context.Context, payload []byte, requestID string) (*fcemu.Result, error) {
	return e.Invoke(ctx, payload, fcemu.WithRequestID(requestID))
}

func (e emulated) close() error { return e.Close() }

// inProcess is a function run in this process: one handler per instance,
// invoked in turn, each invocation with the context the FC runtime SDK
// gives a handler (fccontext with the request id, the role credentials
// and the function; a deadline of the function's timeout).
type inProcess struct {
	name     string
	handlers []Handler
	next     atomic.Uint64
	timeout  time.Duration
	fc       fccontext.FcContext
}

func startInProcess(name string, env []string, o Options, creds fcemu.Credentials, log *slog.Logger) (*inProcess, error) {
	vars := map[string]string{} // the last value of a key wins, as for a process
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	getenv := func(k string) string { return vars[k] }
	p := &inProcess{name: name, timeout: o.Timeout, fc: fccontext.FcContext{
		Credentials: fccontext.Credentials{AccessKeyId: creds.AccessKeyID, AccessKeySecret: creds.AccessKeySecret, SecurityToken: creds.SecurityToken},
		Function:    fccontext.Function{Name: name, Handler: "main", Memory: strconv.Itoa(memoryMB), Timeout: int(o.Timeout / time.Second)},
		Region:      region, AccountId: accountID,
	}}
	for range max(1, o.Instances) {
		h, err := fcapp.Handler(name, getenv, log)
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		p.handlers = append(p.handlers, h)
	}
	return p, nil
}

// invoke runs one invocation the way the SDK does: the handler's output
// JSON-marshalled, its error or panic as the SDK's error document, and a
// timeout when the deadline passes first (the handler runs on, as a frozen
// FC instance would). It returns an error only when ctx ends first.
func (p *inProcess) invoke(ctx context.Context, payload []byte, requestID string) (*fcemu.Result, error) {
	start := time.Now()
	k := int(p.next.Add(1)-1) % len(p.handlers)
	lc := p.fc
	lc.RequestID = requestID
	hctx, cancel := context.WithTimeout(fccontext.NewContext(context.WithoutCancel(ctx), &lc), p.timeout)
	done := make(chan *fcemu.Result, 1)
	go func() {
		defer cancel()
		done <- call(hctx, p.handlers[k], payload)
	}()
	var res *fcemu.Result
	select {
	case res = <-done:
	case <-hctx.Done():
		select {
		case res = <-done: // answered just in time
		default:
			res = &fcemu.Result{Error: &fcemu.InvokeError{Message: fmt.Sprintf("Function time out after %s", p.timeout), Type: fcemu.ErrorTypeTimeout}}
		}
	case <-ctx.Done():
		return nil, fmt.Errorf("invoke %s request %s: %w", p.name, requestID, ctx.Err())
	}
	res.RequestID, res.Instance, res.Duration = requestID, k, time.Since(start)
	return res, nil
}

// call runs h and turns its output, or its error or panic, into a Result
// as the SDK posts it: errorType is the name of the (pointed-to) type.
func call(ctx context.Context, h Handler, payload []byte) (res *fcemu.Result) {
	var fault any
	defer func() {
		if e := recover(); e != nil {
			fault = e
		}
		if fault != nil {
			t := reflect.TypeOf(fault)
			if t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			e := &fcemu.InvokeError{Message: fmt.Sprint(fault), Type: t.Name()}
			b, _ := json.Marshal(e)
			res = &fcemu.Result{Payload: b, Error: e}
		}
	}()
	out, err := h(ctx, payload)
	if err == nil {
		var b []byte
		if b, err = json.Marshal(out); err == nil {
			return &fcemu.Result{Payload: b}
		}
	}
	fault = err
	return nil
}

func (p *inProcess) close() error { return nil }
