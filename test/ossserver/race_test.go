package ossserver_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// raceCreateOnly races n create-only PutObjects of one key and checks that
// exactly one succeeds and every other gets 409 FileAlreadyExists.
func raceCreateOnly(t *testing.T, b *oss.Bucket, n int) {
	t.Helper()
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = put(b, "contended", fmt.Sprint(i), ossForbid())
		}()
	}
	close(start)
	wg.Wait()
	winners := 0
	var winner int
	for i, err := range errs {
		var se oss.ServiceError
		switch {
		case err == nil:
			winners++
			winner = i
		case errors.As(err, &se) && se.StatusCode == http.StatusConflict && se.Code == "FileAlreadyExists":
		default:
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d of %d create-only writers succeeded, want exactly 1", winners, n)
	}
	wantContent(t, b, "contended", fmt.Sprint(winner))
}

func TestConcurrentCreateOnly(t *testing.T) {
	srv := start(t, nil)
	raceCreateOnly(t, bucket(t, srv), 32)
	if got := srv.Stats().Errors["FileAlreadyExists"]; got != 31 {
		t.Errorf("FileAlreadyExists count = %d, want 31", got)
	}
}

func TestConcurrentAppendsAndReads(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	const writers, rounds = 8, 20
	var mu sync.Mutex
	pos := int64(0)
	var wg sync.WaitGroup
	// Writers append in a retry loop on PositionNotEqualToLength, using the
	// position the server reports; readers check every snapshot is a
	// prefix of the final object.
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; {
				mu.Lock()
				p := pos
				mu.Unlock()
				var h http.Header
				next, err := b.AppendObject("log", strings.NewReader(fmt.Sprintf("<%d.%d>", w, r)), p, oss.GetResponseHeader(&h))
				if err != nil {
					var se oss.ServiceError
					if !errors.As(err, &se) || se.Code != "PositionNotEqualToLength" {
						t.Errorf("writer %d: %v", w, err)
						return
					}
					next = 0
					fmt.Sscan(h.Get("X-Oss-Next-Append-Position"), &next)
				} else {
					r++
				}
				mu.Lock()
				pos = max(pos, next)
				mu.Unlock()
			}
		}()
	}
	var snapshots []string
	var rwg sync.WaitGroup
	rwg.Add(1)
	done := make(chan struct{})
	go func() {
		defer rwg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if s, err := get(b, "log"); err == nil {
				snapshots = append(snapshots, s)
			}
		}
	}()
	wg.Wait()
	close(done)
	rwg.Wait()
	final, err := get(b, "log")
	if err != nil {
		t.Fatal(err)
	}
	for w := range writers {
		for r := range rounds {
			if c := strings.Count(final, fmt.Sprintf("<%d.%d>", w, r)); c != 1 {
				t.Fatalf("chunk <%d.%d> appears %d times", w, r, c)
			}
		}
	}
	for _, s := range snapshots {
		if !strings.HasPrefix(final, s) {
			t.Fatalf("a read saw %q, which is not a prefix of the final object", s)
		}
	}
}
