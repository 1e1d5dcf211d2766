package ossconformance

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// listNames are the keys, relative to the list test's base, of the listing
// tests: spaces, reserved URL characters, XML specials, non-ASCII and
// names that sort byte-wise differently than they would by letters.
var listNames = []string{
	"a", "a b", "a+b", "a-b", "a%2Fb", "a&b=c?d#e", "Zebra", "~tilde",
	"dir", "dir/one", "dir/two", "dir/sub/three", "dir2/x",
	"ünïcødé/ファイル", "emoji 😀", `quote"'`, "angle<>&", "trailing space ",
}

// rawListResult is ListObjectsV2's XML, read without the SDK's decoding.
type rawListResult struct {
	Prefix         string `xml:"Prefix"`
	EncodingType   string `xml:"EncodingType"`
	KeyCount       int    `xml:"KeyCount"`
	MaxKeys        int    `xml:"MaxKeys"`
	IsTruncated    bool   `xml:"IsTruncated"`
	Contents       []struct{ Key string }
	CommonPrefixes []struct{ Prefix string }
}

// rawList runs ListObjectsV2 with params and decodes the XML itself.
func (s *suite) rawList(t *testing.T, params map[string]interface{}) rawListResult {
	t.Helper()
	params["list-type"] = "2"
	resp, err := s.b.Do("GET", "", params, nil, nil, nil)
	if err != nil {
		t.Fatalf("ListObjectsV2 %v: %v", params, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading ListObjectsV2 body: %v", err)
	}
	var res rawListResult
	if err := xml.Unmarshal(body, &res); err != nil {
		t.Fatalf("ListObjectsV2 XML: %v\n%s", err, body)
	}
	return res
}

// putAll writes each key with its name as body, a few at a time.
func (s *suite) putAll(t *testing.T, keys []string) {
	t.Helper()
	sem := make(chan struct{}, 8)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = s.put(k, k)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("PutObject %q: %v", keys[i], err)
		}
	}
}

// listAllV2 pages through ListObjectsV2 with opts, checking page sizes,
// and returns all keys and common prefixes.
func (s *suite) listAllV2(t *testing.T, maxKeys int, opts ...oss.Option) (keys, prefixes []string) {
	t.Helper()
	token := ""
	for page := 0; ; page++ {
		o := append(slices.Clip(opts), oss.MaxKeys(maxKeys))
		if page > 0 {
			o = append(o, oss.ContinuationToken(token))
		}
		res, err := s.b.ListObjectsV2(o...)
		if err != nil {
			t.Fatalf("ListObjectsV2 page %d: %v", page, err)
		}
		if n := len(res.Objects) + len(res.CommonPrefixes); n > maxKeys || (res.IsTruncated && n == 0) {
			t.Fatalf("ListObjectsV2 page %d has %d entries with max-keys %d (truncated %v)", page, n, maxKeys, res.IsTruncated)
		}
		if res.MaxKeys != maxKeys {
			t.Errorf("ListObjectsV2 MaxKeys = %d, want %d", res.MaxKeys, maxKeys)
		}
		for _, o := range res.Objects {
			keys = append(keys, o.Key)
		}
		prefixes = append(prefixes, res.CommonPrefixes...)
		if !res.IsTruncated {
			return keys, prefixes
		}
		if res.NextContinuationToken == "" {
			t.Fatalf("ListObjectsV2 page %d is truncated without NextContinuationToken", page)
		}
		if page > 1000 {
			t.Fatal("ListObjectsV2 does not end")
		}
		token = res.NextContinuationToken
	}
}

// testListObjectsV2: prefix, delimiter, max-keys, continuation, start-after
// and encoding-type=url over awkward keys, in byte order.
func (s *suite) testListObjectsV2(t *testing.T) {
	base := s.key("list/")
	var all []string
	for _, n := range listNames {
		all = append(all, base+n)
	}
	s.putAll(t, all)
	sorted := slices.Sorted(slices.Values(all))

	// Every key, whatever the page size, in byte order, no duplicates.
	for _, mk := range []int{1, 3, 1000} {
		keys, prefixes := s.listAllV2(t, mk, oss.Prefix(base))
		if !slices.Equal(keys, sorted) || len(prefixes) != 0 {
			t.Fatalf("ListObjectsV2 max-keys %d:\n got %q\nwant %q (prefixes %q)", mk, keys, sorted, prefixes)
		}
	}

	// A delimiter rolls keys up into common prefixes, also across pages.
	var wantKeys, wantPrefixes []string
	for _, k := range sorted {
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
		keys, prefixes := s.listAllV2(t, mk, oss.Prefix(base), oss.Delimiter("/"))
		if !slices.Equal(keys, wantKeys) || !slices.Equal(prefixes, wantPrefixes) {
			t.Fatalf("ListObjectsV2 delimiter / max-keys %d:\n got %q %q\nwant %q %q", mk, keys, prefixes, wantKeys, wantPrefixes)
		}
	}
	keys, prefixes := s.listAllV2(t, 1000, oss.Prefix(base+"dir/"), oss.Delimiter("/"))
	if want := []string{base + "dir/one", base + "dir/two"}; !slices.Equal(keys, want) ||
		!slices.Equal(prefixes, []string{base + "dir/sub/"}) {
		t.Fatalf("ListObjectsV2 prefix dir/ delimiter /: got %q %q", keys, prefixes)
	}

	// start-after lists strictly later keys.
	after := base + "a+b"
	keys, _ = s.listAllV2(t, 1000, oss.Prefix(base), oss.StartAfter(after))
	if want := sorted[slices.Index(sorted, after)+1:]; !slices.Equal(keys, want) {
		t.Fatalf("ListObjectsV2 start-after %q:\n got %q\nwant %q", after, keys, want)
	}

	// A prefix nothing has.
	if keys, prefixes := s.listAllV2(t, 10, oss.Prefix(base+"nothing/")); len(keys)+len(prefixes) != 0 {
		t.Fatalf("ListObjectsV2 of an empty prefix: %q %q", keys, prefixes)
	}

	// max-keys above 1000 is refused.
	_, err := s.b.ListObjectsV2(oss.Prefix(base), oss.MaxKeys(1001))
	wantCode(t, "ListObjectsV2 max-keys 1001", err, http.StatusBadRequest, "InvalidArgument")

	// encoding-type=url: names come back URL-encoded; without it, verbatim.
	enc := s.rawList(t, map[string]interface{}{"prefix": base, "encoding-type": "url", "delimiter": "/"})
	if enc.EncodingType != "url" {
		t.Errorf("EncodingType = %q, want url", enc.EncodingType)
	}
	if p, err := url.QueryUnescape(enc.Prefix); err != nil || p != base {
		t.Errorf("encoded Prefix %q decodes to %q, %v; want %q", enc.Prefix, p, err, base)
	}
	if enc.KeyCount != len(enc.Contents)+len(enc.CommonPrefixes) {
		t.Errorf("KeyCount = %d, want %d", enc.KeyCount, len(enc.Contents)+len(enc.CommonPrefixes))
	}
	var decoded []string
	for _, c := range enc.Contents {
		k, err := url.QueryUnescape(c.Key)
		if err != nil {
			t.Fatalf("encoded key %q: %v", c.Key, err)
		}
		if needsEncoding(k) && k == c.Key {
			t.Errorf("key %q is not URL-encoded with encoding-type=url", c.Key)
		}
		decoded = append(decoded, k)
	}
	if !slices.Equal(decoded, wantKeys) {
		t.Errorf("decoded keys %q, want %q", decoded, wantKeys)
	}
	for _, p := range enc.CommonPrefixes {
		d, err := url.QueryUnescape(p.Prefix)
		if err != nil || !slices.Contains(wantPrefixes, d) || (needsEncoding(d) && d == p.Prefix) {
			t.Errorf("encoded common prefix %q decodes to %q, %v", p.Prefix, d, err)
		}
	}
	plain := s.rawList(t, map[string]interface{}{"prefix": base})
	var plainKeys []string
	for _, c := range plain.Contents {
		plainKeys = append(plainKeys, c.Key)
	}
	if !slices.Equal(plainKeys, sorted) || plain.EncodingType != "" {
		t.Errorf("unencoded listing %q (EncodingType %q), want %q", plainKeys, plain.EncodingType, sorted)
	}

	// Lists are strongly consistent with writes and deletes.
	gone := base + "a b"
	if err := s.b.DeleteObject(gone); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	keys, _ = s.listAllV2(t, 1000, oss.Prefix(base))
	if slices.Contains(keys, gone) {
		t.Errorf("deleted key %q still listed", gone)
	}
	s.mustPut(t, gone, gone)
	keys, _ = s.listAllV2(t, 1000, oss.Prefix(base))
	if !slices.Contains(keys, gone) {
		t.Errorf("re-created key %q not listed", gone)
	}
}

// needsEncoding reports whether any URL encoding must change s.
func needsEncoding(s string) bool {
	for _, r := range s {
		if r == ' ' || r == '%' || r == '&' || r == '#' || r == '?' || r >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// testListDefaultMaxKeys: without max-keys a page holds 100 entries.
func (s *suite) testListDefaultMaxKeys(t *testing.T) {
	base := s.key("many/")
	var keys []string
	for i := range 105 {
		keys = append(keys, fmt.Sprintf("%s%03d", base, i))
	}
	s.putAll(t, keys)
	res, err := s.b.ListObjectsV2(oss.Prefix(base))
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	if len(res.Objects) != 100 || !res.IsTruncated || res.MaxKeys != 100 {
		t.Fatalf("ListObjectsV2 without max-keys: %d objects, truncated %v, MaxKeys %d; want 100, true, 100",
			len(res.Objects), res.IsTruncated, res.MaxKeys)
	}
	rest, err := s.b.ListObjectsV2(oss.Prefix(base), oss.ContinuationToken(res.NextContinuationToken))
	if err != nil {
		t.Fatalf("ListObjectsV2 second page: %v", err)
	}
	if len(rest.Objects) != 5 || rest.IsTruncated || rest.Objects[0].Key != keys[100] {
		t.Fatalf("second page: %d objects from %q, truncated %v; want 5 from %q", len(rest.Objects),
			rest.Objects[0].Key, rest.IsTruncated, keys[100])
	}
}

// testListObjectsV1: ListObjects pages with marker and NextMarker.
func (s *suite) testListObjectsV1(t *testing.T) {
	base := s.key("list-v1/")
	var all []string
	for _, n := range listNames {
		all = append(all, base+n)
	}
	s.putAll(t, all)
	sorted := slices.Sorted(slices.Values(all))

	for _, delim := range []string{"", "/"} {
		var keys, prefixes []string
		marker := ""
		for page := 0; ; page++ {
			opts := []oss.Option{oss.Prefix(base), oss.MaxKeys(4), oss.Marker(marker)}
			if delim != "" {
				opts = append(opts, oss.Delimiter(delim))
			}
			res, err := s.b.ListObjects(opts...)
			if err != nil {
				t.Fatalf("ListObjects page %d: %v", page, err)
			}
			if n := len(res.Objects) + len(res.CommonPrefixes); n > 4 {
				t.Fatalf("ListObjects page %d has %d entries with max-keys 4", page, n)
			}
			for _, o := range res.Objects {
				keys = append(keys, o.Key)
			}
			prefixes = append(prefixes, res.CommonPrefixes...)
			if !res.IsTruncated {
				break
			}
			if res.NextMarker == "" || page > 100 {
				t.Fatalf("ListObjects page %d: truncated with NextMarker %q", page, res.NextMarker)
			}
			marker = res.NextMarker
		}
		if delim == "" {
			if !slices.Equal(keys, sorted) || len(prefixes) != 0 {
				t.Fatalf("ListObjects:\n got %q %q\nwant %q", keys, prefixes, sorted)
			}
			continue
		}
		want := []string{base + "dir/", base + "dir2/", base + "ünïcødé/"}
		if !slices.Equal(prefixes, want) || len(keys)+len(prefixes) != len(sorted)-5+len(want) {
			t.Fatalf("ListObjects delimiter /: got %q %q", keys, prefixes)
		}
	}
}
