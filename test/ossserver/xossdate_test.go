package ossserver_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
)

// signLikeAliOSS signs a path-style request with signature V1 the way the
// Node.js SDK ali-oss does: the request time goes in x-oss-date only (no
// Date header), and its value is the string to sign's date line as well as
// one of the canonical x-oss- headers.
func signLikeAliOSS(r *http.Request, ak, sk, resource string) {
	var oss []string
	for k, v := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-oss-") {
			oss = append(oss, lk+":"+strings.TrimSpace(v[0]))
		}
	}
	sort.Strings(oss)
	parts := append([]string{r.Method, r.Header.Get("Content-MD5"), r.Header.Get("Content-Type"), r.Header.Get("X-Oss-Date")}, oss...)
	sts := strings.Join(append(parts, resource), "\n")
	mac := hmac.New(sha1.New, []byte(sk))
	mac.Write([]byte(sts))
	r.Header.Set("Authorization", "OSS "+ak+":"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

// TestV1WithXOSSDate checks that a V1 request carrying its time in
// x-oss-date instead of Date is accepted, as OSS accepts it, and that the
// date is still covered by the signature and the skew check.
func TestV1WithXOSSDate(t *testing.T) {
	srv := start(t, nil)
	now := time.Now().UTC()
	send := func(method, key, body string, date time.Time, tamper func(*http.Request)) (int, string) {
		t.Helper()
		r, err := http.NewRequest(method, srv.URL()+"/"+bucketName+"/"+key, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Oss-Date", date.Format(http.TimeFormat))
		signLikeAliOSS(r, testAK, testSK, "/"+bucketName+"/"+key)
		if tamper != nil {
			tamper(r)
		}
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := send(http.MethodPut, "a.json", `{"a":1}`, now, nil); code != http.StatusOK {
		t.Fatalf("PUT signed with x-oss-date: %d %s", code, body)
	}
	if code, body := send(http.MethodGet, "a.json", "", now, nil); code != http.StatusOK || body != `{"a":1}` {
		t.Fatalf("GET signed with x-oss-date: %d %q", code, body)
	}
	cases := []struct {
		name   string
		date   time.Time
		tamper func(*http.Request)
		want   string
	}{
		{"date changed after signing", now, func(r *http.Request) {
			r.Header.Set("X-Oss-Date", now.Add(time.Second).Format(http.TimeFormat))
		}, "SignatureDoesNotMatch"},
		{"no date at all", now, func(r *http.Request) { r.Header.Del("X-Oss-Date") }, "Missing the Date header"},
		{"skewed x-oss-date", now.Add(-time.Hour), nil, "RequestTimeTooSkewed"},
		{"unparsable x-oss-date", now, func(r *http.Request) { r.Header.Set("X-Oss-Date", "yesterday") }, "invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := send(http.MethodGet, "a.json", "", c.date, c.tamper)
			if code != http.StatusForbidden || !strings.Contains(body, c.want) {
				t.Errorf("got %d %s, want 403 with %q", code, body, c.want)
			}
		})
	}
}
