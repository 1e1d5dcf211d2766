// Command local runs the whole system on this machine: the disk-backed OSS
// test server (or the OSS bucket named by OSS_ENDPOINT and OSS_BUCKET),
// every function as its real binary behind the FC runtime-API emulator, and
// an HTTP front door. See package localstack.
//
//	go run ./test/cmd/local [-addr 127.0.0.1:8080] [-oss-addr 127.0.0.1:9000] [-data .localstack] [-auth-off]
//
// The function binaries are kept in a cache directory by a hash of the
// sources (-bin-cache, env MEDIASTATE_BIN_CACHE; default the user cache
// directory), so a restart with nothing changed builds nothing.
// MEDIASTATE_QUERY_TOKEN sets liverecordquery's bearer token (default
// localstack.LocalQueryToken). The sweep function runs every -sweep-every
// (default 1h), as its FC timer trigger does.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"mediastate/test/localstack"
)

func main() {
	addr := flag.String("addr", cmp.Or(os.Getenv("MEDIASTATE_ADDR"), "127.0.0.1:8080"), "front door listen address (env MEDIASTATE_ADDR)")
	ossAddr := flag.String("oss-addr", cmp.Or(os.Getenv("MEDIASTATE_OSS_ADDR"), "127.0.0.1:9000"), "embedded OSS server address (env MEDIASTATE_OSS_ADDR)")
	data := flag.String("data", cmp.Or(os.Getenv("MEDIASTATE_DATA"), ".localstack"), "directory of the embedded OSS server's files (env MEDIASTATE_DATA)")
	authOff := flag.Bool("auth-off", false, "accept unsigned HTTP callbacks (CALLBACK_AUTH=off)")
	quiet := flag.Bool("quiet", false, "do not print the functions' log lines")
	binCache := flag.String("bin-cache", cmp.Or(os.Getenv("MEDIASTATE_BIN_CACHE"), defaultBinCache()), "directory of cached function binaries; empty: always build (env MEDIASTATE_BIN_CACHE)")
	sweepEvery := flag.Duration("sweep-every", time.Hour, "interval of the local sweep timer; 0 disables it")
	flag.Parse()
	start := time.Now()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := localstack.FindRoot(".")
	if err != nil {
		fail(err)
	}
	var logw io.Writer = os.Stderr
	if *quiet {
		logw = io.Discard
	}
	dir := *data
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	fmt.Fprintln(os.Stderr, "building (or reusing) and starting the functions...")
	s, err := localstack.Start(ctx, localstack.Options{Root: root, Addr: *addr, OSSAddr: *ossAddr, DataDir: dir,
		ExternalOSS: localstack.ExternalFromEnv(), AuthOff: *authOff, Log: logw, QueryToken: os.Getenv("MEDIASTATE_QUERY_TOKEN"),
		BinCache: *binCache, SweepEvery: *sweepEvery})
	if err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "started in %v (%d of %d binaries from the cache)\n", time.Since(start).Round(time.Millisecond), len(s.Cached), len(s.Functions))
	fmt.Print(s.Banner())
	fmt.Printf("\nlistening on %s; Ctrl-C stops.\n", s.URL)
	<-ctx.Done()
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
	}
}

// defaultBinCache is <user cache directory>/mediastate/localstack-bin, or
// "" (no cache) when there is no user cache directory.
func defaultBinCache() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "mediastate", "localstack-bin")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "local:", err)
	os.Exit(1)
}
