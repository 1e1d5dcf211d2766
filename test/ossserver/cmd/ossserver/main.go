// Command ossserver runs the OSS protocol test server of package
// mediastate/test/ossserver until interrupted.
//
//	go run ./test/ossserver/cmd/ossserver -addr 127.0.0.1:9000 -bucket media -dir /tmp/oss
//
// It prints one line, OSS_ENDPOINT=http://host:port, once it is listening.
// Faults and counters are controlled over the admin endpoint, e.g.
//
//	curl -X PUT -d '{"latency":"20ms","error503Rate":0.05}' http://127.0.0.1:9000/-/faults
//	curl http://127.0.0.1:9000/-/stats
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"mediastate/test/ossserver"
)

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	if err := run(os.Args[1:]); err != nil {
		log.Fatal(err)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("ossserver", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9000", "listen address; port 0 picks a free port")
	dir := fs.String("dir", "", "directory for disk-backed storage that survives restarts (memory when empty)")
	region := fs.String("region", ossserver.DefaultRegion, "region that V4 signatures must be scoped to")
	akID := fs.String("access-key-id", "test-access-key-id", "accepted access key id")
	akSecret := fs.String("access-key-secret", "test-access-key-secret", "accepted access key secret")
	token := fs.String("security-token", "", "STS security token required with the access key (none when empty)")
	faults := fs.String("faults", "", `initial faults as JSON, e.g. {"latency":"10ms","error503Rate":0.01}`)
	quiet := fs.Bool("quiet", false, "do not log failed requests and injected faults")
	var buckets []string
	fs.Func("bucket", "bucket to create at start; repeatable or comma-separated (default test-bucket)", func(v string) error {
		for _, b := range strings.Split(v, ",") {
			if b = strings.TrimSpace(b); b != "" {
				buckets = append(buckets, b)
			}
		}
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if len(buckets) == 0 {
		buckets = []string{"test-bucket"}
	}

	opts := ossserver.Options{
		Credentials: []ossserver.Credential{{AccessKeyID: *akID, AccessKeySecret: *akSecret, SecurityToken: *token}},
		Buckets:     buckets,
		Dir:         *dir,
		Region:      *region,
	}
	if !*quiet {
		opts.Logf = log.Printf
	}
	srv, err := ossserver.Start(opts, *addr)
	if err != nil {
		return err
	}
	if *faults != "" {
		var f ossserver.Faults
		if err := json.Unmarshal([]byte(*faults), &f); err != nil {
			srv.Close()
			return fmt.Errorf("-faults: %w", err)
		}
		if err := srv.SetFaults(f); err != nil {
			srv.Close()
			return fmt.Errorf("-faults: %w", err)
		}
	}
	fmt.Printf("OSS_ENDPOINT=%s\n", srv.Endpoint())
	log.Printf("ossserver: region %s, buckets %s, storage %s", srv.Region(), strings.Join(buckets, ","), storage(*dir))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	log.Printf("ossserver: shutting down")
	if err := srv.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

func storage(dir string) string {
	if dir == "" {
		return "memory"
	}
	return dir
}
