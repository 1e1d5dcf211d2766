// Package drivertest provides the one conformance suite of ossx drivers,
// in the manner of go-cloud's blob/drivertest: RunConformanceTests checks,
// through the driver and through an ossx.Bucket on it, every OSS semantic
// the product relies on (create-only writes and their races, metadata,
// ETags, byte-ordered listing with pages, start-after and a delimiter,
// deletion, versioning status and its refusal, lost answers settled by
// Create). RunProtocolTests adds the wire-level checks of the OSS protocol
// (error codes, If-* refused on PutObject, signatures, max-keys bounds)
// through the OSS SDK. The first runs on the in-memory driver
// and on the SDK driver; both run against the OSS test server and, given
// credentials, real OSS.
package drivertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/ossx"
	"mediastate/shared/ossx/ossfault"
	"mediastate/shared/retry"
)

// Harness is what one run of the suite needs.
type Harness struct {
	// Driver is the driver under test, on a bucket on which versioning was
	// never enabled.
	Driver ossx.Driver
	// Prefix is prepended to every key the suite writes; everything under
	// it is deleted when the suite ends. UniquePrefix makes one.
	Prefix string
	// SetVersioning, when set, sets the bucket's versioning status, ""
	// returning it to never enabled (real OSS cannot).
	SetVersioning func(status string) error
	// SetFaults, when set, injects faults into the driver's requests.
	SetFaults func(ossfault.Faults) error
}

// UniquePrefix returns a key prefix unique to this run, such as
// "drivertest/20240102T150405Z-1a2b3c4d/".
func UniquePrefix() string {
	var r [4]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails on supported platforms.
	return "drivertest/" + time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(r[:]) + "/"
}

// fast is the retry policy of the suite's buckets.
var fast = retry.Policy{Attempts: 6, Base: time.Millisecond, Max: 20 * time.Millisecond}

type suite struct {
	h Harness
	b *ossx.Bucket
}

// RunConformanceTests runs the suite against h as subtests of t.
func RunConformanceTests(t *testing.T, h Harness) {
	t.Helper()
	if h.Driver == nil || h.Prefix == "" || !strings.HasSuffix(h.Prefix, "/") {
		t.Fatalf("drivertest: Harness needs a Driver and a Prefix ending in / (got %q)", h.Prefix)
	}
	s := &suite{h: h, b: ossx.NewBucket(h.Driver, "drivertest", fast)}
	t.Cleanup(func() { s.cleanup(t) })
	if err := s.b.CheckUnversioned(ctx(t)); err != nil {
		t.Fatalf("the suite needs a bucket on which versioning was never enabled: %v", err)
	}
	for _, c := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"CreateOnly", s.testCreateOnly},
		{"CreateOnlyRace", s.testCreateOnlyRace},
		{"Metadata", s.testMetadata},
		{"NotFound", s.testNotFound},
		{"List", s.testList},
		{"ListDelimiter", s.testListDelimiter},
		{"ListThousands", s.testListThousands},
		{"Delete", s.testDelete},
		{"Versioning", s.testVersioning},
		{"CreateSettlesLostAnswers", s.testCreateLostAnswers},
	} {
		t.Run(c.name, c.run)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func (s *suite) key(name string) string { return s.h.Prefix + name }

// cleanup deletes every object under the prefix.
func (s *suite) cleanup(t *testing.T) {
	c := context.Background()
	for token := ""; ; {
		page, err := s.b.List(c, ossx.ListOptions{Prefix: s.h.Prefix, ContinuationToken: token})
		if err != nil {
			t.Errorf("cleanup: list %s: %v", s.h.Prefix, err)
			return
		}
		var keys []string
		for _, o := range page.Objects {
			keys = append(keys, o.Key)
		}
		if err := s.b.Delete(c, keys...); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if token = page.NextToken; token == "" {
			return
		}
	}
}

func (s *suite) put(t *testing.T, key, body string, o ossx.PutOptions) {
	t.Helper()
	if err := s.b.PutObject(ctx(t), key, []byte(body), o); err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
}

func (s *suite) wantBody(t *testing.T, key, want string) ossx.ObjectInfo {
	t.Helper()
	body, info, err := s.b.GetObject(ctx(t), key)
	if err != nil || string(body) != want {
		t.Fatalf("GetObject %s = %q, %v; want %q", key, body, err, want)
	}
	return info
}

// testCreateOnly: ForbidOverwrite makes a write create-only; without it a
// write replaces; after a delete the key can be created again.
func (s *suite) testCreateOnly(t *testing.T) {
	key := s.key("create/only")
	create := ossx.PutOptions{ForbidOverwrite: true}
	s.put(t, key, "first", create)
	if err := s.b.PutObject(ctx(t), key, []byte("second"), create); !errors.Is(err, ossx.ErrExists) {
		t.Fatalf("second create-only PutObject: %v, want ErrExists", err)
	}
	s.wantBody(t, key, "first")
	s.put(t, key, "third", ossx.PutOptions{})
	s.wantBody(t, key, "third")
	if err := s.b.Delete(ctx(t), key); err != nil {
		t.Fatal(err)
	}
	s.put(t, key, "fourth", create)
	s.wantBody(t, key, "fourth")
}

// testCreateOnlyRace: of concurrent create-only writes of one key exactly
// one wins, the others get ErrExists, and the winner's body is stored.
func (s *suite) testCreateOnlyRace(t *testing.T) {
	const writers = 16
	for round := range 3 {
		key := s.key(fmt.Sprintf("create/race-%d", round))
		errs := make([]error, writers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = s.b.PutObject(ctx(t), key, fmt.Appendf(nil, "writer %d", i), ossx.PutOptions{ForbidOverwrite: true})
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: writers %d and %d both created %s", round, winner, i, key)
			case err == nil:
				winner = i
			case !errors.Is(err, ossx.ErrExists):
				t.Fatalf("round %d: writer %d: %v, want ErrExists", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no writer created %s", round, key)
		}
		s.wantBody(t, key, fmt.Sprintf("writer %d", winner))
	}
}

// testMetadata: metadata comes back under lower-case names, with the
// content type, size, ETag and LastModified, alike from GET, HEAD and LIST;
// an overwrite replaces it.
func (s *suite) testMetadata(t *testing.T) {
	key := s.key("meta/object.json")
	before := time.Now().Add(-time.Minute)
	s.put(t, key, `{"a":1}`, ossx.PutOptions{Meta: map[string]string{"Writer": "w-1", "seq": "7", "spaces": "a b c"},
		ContentType: "application/json; charset=utf-8"})
	info := s.wantBody(t, key, `{"a":1}`)
	head, err := s.b.HeadObject(ctx(t), key)
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.b.List(ctx(t), ossx.ListOptions{Prefix: key})
	if err != nil || len(page.Objects) != 1 {
		t.Fatalf("List %s = %+v, %v", key, page, err)
	}
	listed := page.Objects[0]
	for what, i := range map[string]ossx.ObjectInfo{"GetObject": info, "HeadObject": head} {
		if want := map[string]string{"writer": "w-1", "seq": "7", "spaces": "a b c"}; !mapsEqual(i.Meta, want) {
			t.Errorf("%s Meta = %v, want %v", what, i.Meta, want)
		}
		if i.ContentType != "application/json; charset=utf-8" || i.Size != 7 || i.Key != key {
			t.Errorf("%s = %+v", what, i)
		}
		if !strings.HasPrefix(i.ETag, `"`) || i.ETag != listed.ETag {
			t.Errorf("%s ETag %s, listed %s: want one quoted ETag", what, i.ETag, listed.ETag)
		}
		if !i.LastModified.Equal(listed.LastModified) || i.LastModified.Before(before) {
			t.Errorf("%s LastModified %v, listed %v", what, i.LastModified, listed.LastModified)
		}
	}
	if listed.Size != 7 || listed.Key != key {
		t.Errorf("listed %+v", listed)
	}
	s.put(t, key, `{"a":2}`, ossx.PutOptions{Meta: map[string]string{"other": "x"}})
	again := s.wantBody(t, key, `{"a":2}`)
	if !mapsEqual(again.Meta, map[string]string{"other": "x"}) || again.ETag == info.ETag || again.ContentType != "application/json" {
		t.Errorf("after an overwrite: %+v (before %+v)", again, info)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// testNotFound: reads of a missing key say ErrNotFound, and are not retried.
func (s *suite) testNotFound(t *testing.T) {
	key := s.key("missing/none")
	c := ossx.NewCounter()
	cx := ossx.WithCounter(ctx(t), c)
	if _, _, err := s.b.GetObject(cx, key); !errors.Is(err, ossx.ErrNotFound) {
		t.Errorf("GetObject of a missing key: %v, want ErrNotFound", err)
	}
	if _, err := s.b.HeadObject(cx, key); !errors.Is(err, ossx.ErrNotFound) {
		t.Errorf("HeadObject of a missing key: %v, want ErrNotFound", err)
	}
	if c.Total() != 2 {
		t.Errorf("%d requests (%s), want 2: not-found is final", c.Total(), c)
	}
}

// listNames are awkward keys: spaces, reserved URL characters, XML
// specials, non-ASCII, and names whose byte order differs from letters'.
var listNames = []string{
	"a", "a b", "a+b", "a-b", "a%2Fb", "a&b=c?d#e", "Zebra", "~tilde", "dir", "dir/one", "dir/two",
	"dir/sub/three", "dir2/x", "ünïcødé/ファイル", "emoji 😀", `quote"'`, "angle<>&", "0123",
}

// putAll writes each key with its name as body, a few at a time.
func (s *suite) putAll(t *testing.T, keys []string) {
	t.Helper()
	sem := make(chan struct{}, 8)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = s.b.PutObject(ctx(t), k, []byte(k), ossx.PutOptions{})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// putNames writes base+name for each of listNames and returns the keys in
// byte order.
func (s *suite) putNames(t *testing.T, base string) []string {
	t.Helper()
	var all []string
	for _, n := range listNames {
		all = append(all, base+n)
	}
	s.putAll(t, all)
	return slices.Sorted(slices.Values(all))
}

// listAll pages through a listing of at most maxKeys entries a page and
// returns every key and common prefix.
func (s *suite) listAll(t *testing.T, o ossx.ListOptions) (keys, prefixes []string) {
	t.Helper()
	for page := 0; ; page++ {
		p, err := s.h.Driver.List(ctx(t), o)
		if err != nil {
			t.Fatalf("List %+v page %d: %v", o, page, err)
		}
		if n := len(p.Objects) + len(p.CommonPrefixes); n > o.MaxKeys || (p.NextToken != "" && n == 0) {
			t.Fatalf("List page %d has %d entries with MaxKeys %d (next %q)", page, n, o.MaxKeys, p.NextToken)
		}
		for _, obj := range p.Objects {
			keys = append(keys, obj.Key)
		}
		prefixes = append(prefixes, p.CommonPrefixes...)
		if p.NextToken == "" {
			return keys, prefixes
		}
		if page > 1000 {
			t.Fatal("List does not end")
		}
		o.ContinuationToken = p.NextToken
	}
}

// testList: every key once, in byte order, whatever the page size;
// start-after lists strictly later keys; lists see writes and deletes.
func (s *suite) testList(t *testing.T) {
	base := s.key("list/")
	sorted := s.putNames(t, base)
	for _, mk := range []int{1, 3, 1000} {
		if keys, prefixes := s.listAll(t, ossx.ListOptions{Prefix: base, MaxKeys: mk}); !slices.Equal(keys, sorted) || len(prefixes) != 0 {
			t.Fatalf("List MaxKeys %d:\n got %q\nwant %q (prefixes %q)", mk, keys, sorted, prefixes)
		}
	}
	after := base + "a+b"
	keys, _ := s.listAll(t, ossx.ListOptions{Prefix: base, StartAfter: after, MaxKeys: 2})
	if want := sorted[slices.Index(sorted, after)+1:]; !slices.Equal(keys, want) {
		t.Fatalf("List StartAfter %q:\n got %q\nwant %q", after, keys, want)
	}
	if keys, _ := s.listAll(t, ossx.ListOptions{Prefix: base + "nothing/", MaxKeys: 10}); len(keys) != 0 {
		t.Fatalf("List of an empty prefix: %q", keys)
	}
	gone := base + "a b"
	if err := s.b.Delete(ctx(t), gone); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.listAll(t, ossx.ListOptions{Prefix: base, MaxKeys: 1000}); slices.Contains(keys, gone) {
		t.Errorf("deleted key %q still listed", gone)
	}
	s.put(t, gone, gone, ossx.PutOptions{})
	if keys, _ := s.listAll(t, ossx.ListOptions{Prefix: base, MaxKeys: 1000}); !slices.Contains(keys, gone) {
		t.Errorf("re-created key %q not listed", gone)
	}
}

// testListDelimiter: a delimiter rolls keys up into common prefixes, each
// once across pages, as the CLI's dead-letter listing reads them.
func (s *suite) testListDelimiter(t *testing.T) {
	base := s.key("delim/")
	var wantKeys, wantPrefixes []string
	for _, k := range s.putNames(t, base) {
		rest := strings.TrimPrefix(k, base)
		if i := strings.Index(rest, "/"); i >= 0 {
			if p := base + rest[:i+1]; !slices.Contains(wantPrefixes, p) {
				wantPrefixes = append(wantPrefixes, p)
			}
			continue
		}
		wantKeys = append(wantKeys, k)
	}
	for _, mk := range []int{1, 2, 1000} {
		keys, prefixes := s.listAll(t, ossx.ListOptions{Prefix: base, Delimiter: "/", MaxKeys: mk})
		if !slices.Equal(keys, wantKeys) || !slices.Equal(prefixes, wantPrefixes) {
			t.Fatalf("List delimiter / MaxKeys %d:\n got %q %q\nwant %q %q", mk, keys, prefixes, wantKeys, wantPrefixes)
		}
	}
	keys, prefixes := s.listAll(t, ossx.ListOptions{Prefix: base + "dir/", Delimiter: "/", MaxKeys: 1000})
	if !slices.Equal(keys, []string{base + "dir/one", base + "dir/two"}) || !slices.Equal(prefixes, []string{base + "dir/sub/"}) {
		t.Fatalf("List prefix dir/ delimiter /: %q %q", keys, prefixes)
	}
}

// testListThousands: a Bucket lists 1000 keys a page by default and
// deletes more than 1000 keys in batches.
func (s *suite) testListThousands(t *testing.T) {
	base := s.key("many/")
	var keys []string
	for i := range 1005 {
		keys = append(keys, fmt.Sprintf("%s%04d", base, i))
	}
	s.putAll(t, keys)
	page, err := s.b.List(ctx(t), ossx.ListOptions{Prefix: base})
	if err != nil || len(page.Objects) != 1000 || page.NextToken == "" {
		t.Fatalf("first page: %d objects, token %q, %v", len(page.Objects), page.NextToken, err)
	}
	page, err = s.b.List(ctx(t), ossx.ListOptions{Prefix: base, ContinuationToken: page.NextToken})
	if err != nil || len(page.Objects) != 5 || page.NextToken != "" || page.Objects[4].Key != keys[1004] {
		t.Fatalf("second page: %d objects, token %q, %v", len(page.Objects), page.NextToken, err)
	}
	c := ossx.NewCounter()
	if err := s.b.Delete(ossx.WithCounter(ctx(t), c), keys...); err != nil {
		t.Fatal(err)
	}
	if c.Get(ossx.OpDeleteMulti) != 2 {
		t.Errorf("Delete of 1005 keys made %s, want 2 DeleteObjects", c)
	}
	if p, err := s.b.List(ctx(t), ossx.ListOptions{Prefix: base}); err != nil || len(p.Objects) != 0 {
		t.Fatalf("%d objects left after Delete, %v", len(p.Objects), err)
	}
}

// testDelete: deletion of present and absent keys, one or many.
func (s *suite) testDelete(t *testing.T) {
	k1, k2, k3 := s.key("del/1"), s.key("del/2"), s.key("del/3")
	for _, k := range []string{k1, k2, k3} {
		s.put(t, k, "x", ossx.PutOptions{})
	}
	if err := s.h.Driver.Delete(ctx(t), []string{k1}); err != nil {
		t.Fatalf("Delete one: %v", err)
	}
	if err := s.h.Driver.Delete(ctx(t), []string{s.key("del/absent")}); err != nil {
		t.Fatalf("Delete of an absent key: %v", err)
	}
	if err := s.h.Driver.Delete(ctx(t), []string{k2, s.key("del/absent"), k3}); err != nil {
		t.Fatalf("Delete many: %v", err)
	}
	for _, k := range []string{k1, k2, k3} {
		if _, err := s.b.HeadObject(ctx(t), k); !errors.Is(err, ossx.ErrNotFound) {
			t.Errorf("HeadObject %s after Delete: %v", k, err)
		}
	}
}

// testVersioning: the bucket reports never-versioned; once versioning is
// Enabled or Suspended, CheckUnversioned refuses it and create-only
// writes are no longer create-only (which is why it refuses).
func (s *suite) testVersioning(t *testing.T) {
	if st, err := s.b.Versioning(ctx(t)); err != nil || st != "" {
		t.Fatalf("Versioning = %q, %v; want never enabled", st, err)
	}
	if s.h.SetVersioning == nil {
		t.Skip("this target cannot return a bucket to never-versioned, so versioning is not toggled")
	}
	defer func() {
		if err := s.h.SetVersioning(""); err != nil {
			t.Fatal(err)
		}
	}()
	for _, status := range []string{"Enabled", "Suspended"} {
		if err := s.h.SetVersioning(status); err != nil {
			t.Fatal(err)
		}
		if st, err := s.b.Versioning(ctx(t)); err != nil || st != status {
			t.Fatalf("Versioning = %q, %v; want %s", st, err, status)
		}
		if err := s.b.CheckUnversioned(ctx(t)); !apierr.Is(err, apierr.InvalidConfig) {
			t.Fatalf("CheckUnversioned with versioning %s: %v, want InvalidConfig", status, err)
		}
		key := s.key("versioned/" + status)
		s.put(t, key, "first", ossx.PutOptions{ForbidOverwrite: true})
		s.put(t, key, "second", ossx.PutOptions{ForbidOverwrite: true})
		s.wantBody(t, key, "second")
	}
}

// testCreateLostAnswers: Create settles a write whose answer was lost by
// its writer id, fails with ErrExists when another writer's object is
// there, and leaves nothing when every attempt is refused.
func (s *suite) testCreateLostAnswers(t *testing.T) {
	if s.h.SetFaults == nil {
		t.Skip("this target cannot inject faults")
	}
	setFaults := func(f ossfault.Faults) {
		t.Helper()
		if err := s.h.SetFaults(f); err != nil {
			t.Fatal(err)
		}
	}
	defer setFaults(ossfault.Faults{})
	mine, theirs, refused := s.key("lost/mine"), s.key("lost/theirs"), s.key("lost/refused")
	s.put(t, theirs, "other writer", ossx.PutOptions{ForbidOverwrite: true, Meta: map[string]string{ossx.MetaWriter: "someone"}})

	// The first attempt's answer is lost; the faults end before the next.
	loseFirst := func() ossx.CreateOptions {
		setFaults(ossfault.Faults{LostResponseRate: 1, Ops: []string{"PutObject"}})
		attempts := 0
		return ossx.CreateOptions{Retry: fast, Meta: map[string]string{"seq": "1"}, Valid: func() error {
			if attempts++; attempts == 2 {
				setFaults(ossfault.Faults{})
			}
			return nil
		}}
	}
	res, err := s.b.Create(ctx(t), mine, []byte("mine"), loseFirst())
	if err != nil || !res.Resolved || res.Retries != 1 {
		t.Fatalf("Create with a lost answer = %+v, %v; want resolved as ours after 1 retry", res, err)
	}
	if info := s.wantBody(t, mine, "mine"); info.Meta["seq"] != "1" || info.Meta[ossx.MetaWriter] == "" {
		t.Errorf("created object's metadata %v", info.Meta)
	}
	res, err = s.b.Create(ctx(t), theirs, []byte("mine"), loseFirst())
	if !errors.Is(err, ossx.ErrExists) || res.Resolved || res.Retries != 1 {
		t.Fatalf("Create over another writer's object with a lost answer = %+v, %v; want ErrExists", res, err)
	}
	s.wantBody(t, theirs, "other writer")

	setFaults(ossfault.Faults{Error503Rate: 1, Ops: []string{"PutObject"}})
	res, err = s.b.Create(ctx(t), refused, []byte("x"), ossx.CreateOptions{Retry: fast})
	if err == nil || apierr.IsPermanent(err) || res.Retries != fast.Attempts {
		t.Fatalf("Create refused with 503 = %+v, %v; want a transient error after %d attempts", res, err, fast.Attempts)
	}
	setFaults(ossfault.Faults{})
	if _, err := s.b.HeadObject(ctx(t), refused); !errors.Is(err, ossx.ErrNotFound) {
		t.Fatalf("a refused Create left an object: %v", err)
	}
	if _, err := s.b.Create(ctx(t), refused, []byte("x"), ossx.CreateOptions{Retry: fast, Valid: func() error { return errStop }}); !errors.Is(err, errStop) {
		t.Fatalf("Create stopped by Valid: %v", err)
	}
	if _, _, err := s.b.GetObject(ctx(t), refused); !errors.Is(err, ossx.ErrNotFound) {
		t.Fatalf("a stopped Create wrote: %v", err)
	}
}

var errStop = errors.New("stop")
