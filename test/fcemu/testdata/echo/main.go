// Command echo is a tiny Function Compute event function used by the fcemu
// tests. It is built from source by the tests and run through the emulated
// runtime API exactly like a deployed go1 function.
//
// The payload is a JSON object whose "mode" field selects the behaviour:
//
//   - "echo" (or empty): answer the payload and the fccontext values.
//   - "error": return an error of type ValidationError with "message".
//   - "panic": panic inside the handler with "message".
//   - "crash": make the whole process exit with status 3 from another goroutine.
//   - "block": wait until the invocation's context ends and return its error.
//   - "barrier": dial the TCP address in "addr", then wait until the peer
//     closes the connection before answering like "echo".
//
// When the environment variable ECHO_EXIT_AT_INIT is set, or
// ECHO_EXIT_AT_INIT_IF_FILE names a file that exists, the process exits with
// status 4 before it calls fc.Start, to simulate a broken cold start.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
)

// request is the payload understood by the handler.
type request struct {
	Mode    string `json:"mode"`
	Message string `json:"message"`
	Addr    string `json:"addr"`
}

// ValidationError is the error type returned in "error" mode, so that tests
// can check the errorType reported by the SDK.
type ValidationError struct {
	Msg string
}

// Error returns the message of the validation error.
func (e *ValidationError) Error() string { return e.Msg }

// envNames lists the environment variables reported back to the caller.
var envNames = []string{
	"FC_FUNCTION_NAME", "FC_FUNCTION_HANDLER", "FC_FUNCTION_MEMORY_SIZE",
	"FC_REGION", "FC_ACCOUNT_ID", "FC_INSTANCE_ID", "FC_FUNC_CODE_PATH",
	"ALIBABA_CLOUD_ACCESS_KEY_ID", "ECHO_EXTRA", "HOME", "PATH", "TMPDIR",
	"FC_RUNTIME_API",
}

func handle(ctx context.Context, in []byte) (map[string]any, error) {
	var req request
	if len(in) > 0 {
		if err := json.Unmarshal(in, &req); err != nil {
			return nil, fmt.Errorf("decode payload: %w", err)
		}
	}
	switch req.Mode {
	case "", "echo":
	case "error":
		return nil, &ValidationError{Msg: req.Message}
	case "panic":
		panic(req.Message)
	case "crash":
		go func() {
			fmt.Fprintln(os.Stderr, "echo: crashing on purpose:", req.Message)
			os.Exit(3)
		}()
		<-ctx.Done()
		return nil, ctx.Err()
	case "block":
		<-ctx.Done()
		return nil, ctx.Err()
	case "barrier":
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", req.Addr)
		if err != nil {
			return nil, fmt.Errorf("dial barrier %s: %w", req.Addr, err)
		}
		defer conn.Close()
		if _, err := io.Copy(io.Discard, conn); err != nil {
			return nil, fmt.Errorf("wait on barrier: %w", err)
		}
	default:
		return nil, fmt.Errorf("unknown mode %q", req.Mode)
	}
	return describe(ctx, in), nil
}

// describe reports the payload and everything the runtime handed over.
func describe(ctx context.Context, in []byte) map[string]any {
	out := map[string]any{
		"payload": string(in),
		"pid":     os.Getpid(),
	}
	if deadline, ok := ctx.Deadline(); ok {
		out["deadlineUnixMilli"] = deadline.UnixMilli()
	}
	if fctx, ok := fccontext.FromContext(ctx); ok {
		out["requestId"] = fctx.RequestID
		out["functionName"] = fctx.Function.Name
		out["functionHandler"] = fctx.Function.Handler
		out["functionMemory"] = fctx.Function.Memory
		out["functionTimeout"] = fctx.Function.Timeout
		out["accessKeyId"] = fctx.Credentials.AccessKeyId
		out["accessKeySecret"] = fctx.Credentials.AccessKeySecret
		out["securityToken"] = fctx.Credentials.SecurityToken
		out["region"] = fctx.Region
		out["accountId"] = fctx.AccountId
		out["retryCount"] = fctx.RetryCount
	}
	env := map[string]string{}
	for _, name := range envNames {
		if v, ok := os.LookupEnv(name); ok {
			env[name] = v
		}
	}
	out["env"] = env
	var keys []string
	for _, kv := range os.Environ() {
		key, _, _ := strings.Cut(kv, "=")
		keys = append(keys, key)
	}
	out["envKeys"] = keys
	return out
}

func main() {
	if os.Getenv("ECHO_EXIT_AT_INIT") != "" || fileExists(os.Getenv("ECHO_EXIT_AT_INIT_IF_FILE")) {
		fmt.Fprintln(os.Stderr, "echo: exiting at init on purpose")
		os.Exit(4)
	}
	fc.Start(handle)
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	if path == "" {
		return false
	}
	_, err := os.Stat(path)
	return err == nil
}
