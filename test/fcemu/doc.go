// Package fcemu emulates the Alibaba Cloud Function Compute 3.0 runtime API
// so that tests can run the real, built function binaries of the go1 runtime
// locally, exactly the way Function Compute drives them.
//
// A function built with github.com/aliyun/fc-runtime-go-sdk reads the
// FC_RUNTIME_API environment variable and then loops forever: it long-polls
// GET /2020-11-11/runtime/invocation/next, runs the handler for the returned
// event in its own goroutine and posts the outcome to
// /2020-11-11/runtime/invocation/<id>/response or .../<id>/error. The
// emulator serves those three endpoints on loopback, queues invocations,
// hands each one to whichever instance polls first, and enforces the
// function timeout the way Function Compute does.
//
// Typical use in a test:
//
//	bin, err := fcemu.Build(ctx, "../../functions/ingest", outDir)
//	fn, err := fcemu.Start(ctx, fcemu.Config{Name: "ingest", Binary: bin})
//	defer fn.Close()
//	res, err := fn.Invoke(ctx, []byte(`{"key":"value"}`))
//
// Every instance process gets its own runtime API listener, so that the
// emulator always knows which process took an invocation; all listeners share
// one invocation queue.
package fcemu
