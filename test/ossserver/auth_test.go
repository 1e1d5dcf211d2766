package ossserver_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"mediastate/test/ossserver"
)

// v4 returns the client options for signature V4 against srv.
func v4(srv *ossserver.Server) []oss.ClientOption {
	return []oss.ClientOption{oss.AuthVersion(oss.AuthV4), oss.Region(srv.Region())}
}

func TestV4WithAdditionalHeadersAndAwkwardKey(t *testing.T) {
	srv := start(t, nil)
	opts := append(v4(srv), oss.AdditionalHeaders([]string{"host", "User-Agent"}))
	b := bucket(t, srv, opts...)
	key := "dir/ünï cødé+%2F&?=#/file.json"
	mustPut(t, b, key, "v4 body", oss.Meta("x", "y"))
	wantContent(t, b, key, "v4 body")
	mustPut(t, b, key+".log", "a")
	if _, err := b.DeleteObjects([]string{key + ".log", "absent"}); err != nil {
		t.Fatalf("DeleteObjects: %v", err)
	}
	res, err := b.ListObjectsV2(oss.Prefix("dir/ünï cødé+"), oss.Delimiter("/"), oss.StartAfter("d"))
	if err != nil || len(res.CommonPrefixes) != 1 {
		t.Fatalf("ListObjectsV2 = %+v, %v", res, err)
	}
}

func TestV4WrongRegionOrSecret(t *testing.T) {
	srv := start(t, nil)
	wrongRegion := bucket(t, srv, oss.AuthVersion(oss.AuthV4), oss.Region("cn-beijing"))
	err := put(wrongRegion, "k", "v")
	wantCode(t, "PutObject signed for another region", err, http.StatusForbidden, "SignatureDoesNotMatch")

	wrongSecret := bucketWith(t, srv, testAK, "not-the-secret", v4(srv)...)
	_, err = get(wrongSecret, "k")
	wantCode(t, "GetObject signed with a wrong secret", err, http.StatusForbidden, "SignatureDoesNotMatch")

	cloudBox := bucket(t, srv, append(v4(srv), oss.CloudBoxId("cb-1"))...)
	err = put(cloudBox, "k", "v")
	wantCode(t, "PutObject signed for a cloud box", err, http.StatusForbidden, "SignatureDoesNotMatch")
}

func TestUnknownAccessKey(t *testing.T) {
	srv := start(t, nil)
	for name, opts := range map[string][]oss.ClientOption{"V1": nil, "V4": v4(srv)} {
		b := bucketWith(t, srv, "nobody", testSK, opts...)
		err := put(b, "k", "v")
		wantCode(t, name+" PutObject with an unknown access key", err, http.StatusForbidden, "InvalidAccessKeyId")
	}
}

func TestSecurityToken(t *testing.T) {
	const token = "sts-token-0123456789"
	srv := start(t, func(o *ossserver.Options) {
		o.Credentials = append(o.Credentials, ossserver.Credential{
			AccessKeyID: "STS.temp", AccessKeySecret: "temp-secret", SecurityToken: token})
	})
	for name, opts := range map[string][]oss.ClientOption{"V1": nil, "V4": v4(srv)} {
		good := bucketWith(t, srv, "STS.temp", "temp-secret", append(opts, oss.SecurityToken(token))...)
		mustPut(t, good, "sts-"+name, "ok")
		wantContent(t, good, "sts-"+name, "ok")

		wrong := bucketWith(t, srv, "STS.temp", "temp-secret", append(opts, oss.SecurityToken(token+"x"))...)
		_, err := get(wrong, "sts-"+name)
		wantCode(t, name+" wrong token", err, http.StatusForbidden, "InvalidSecurityToken")

		missing := bucketWith(t, srv, "STS.temp", "temp-secret", opts...)
		_, err = get(missing, "sts-"+name)
		wantCode(t, name+" missing token", err, http.StatusForbidden, "InvalidSecurityToken")

		longTerm := bucketWith(t, srv, testAK, testSK, append(opts, oss.SecurityToken(token))...)
		_, err = get(longTerm, "sts-"+name)
		wantCode(t, name+" token with a long-term key", err, http.StatusForbidden, "InvalidSecurityToken")
	}
}

func TestClockSkew(t *testing.T) {
	srv := start(t, nil)
	at := func(d time.Duration) string { return time.Now().UTC().Add(d).Format(http.TimeFormat) }
	for name, opts := range map[string][]oss.ClientOption{"V1": nil, "V4": v4(srv)} {
		b := bucket(t, srv, opts...)
		for _, d := range []time.Duration{-20 * time.Minute, 20 * time.Minute} {
			err := put(b, "skew", "v", oss.SetHeader("Date", at(d)))
			wantCode(t, name+" PutObject dated "+d.String(), err, http.StatusForbidden, "RequestTimeTooSkewed")
		}
		if err := put(b, "skew", "v", oss.SetHeader("Date", at(-10*time.Minute))); err != nil {
			t.Fatalf("%s PutObject dated 10 minutes ago: %v", name, err)
		}
	}
	// V4 signs x-oss-date when present, so its skew is what counts.
	b := bucket(t, srv, v4(srv)...)
	old := time.Now().UTC().Add(-time.Hour).Format("20060102T150405Z")
	err := put(b, "skew", "v", oss.SetHeader("X-Oss-Date", old))
	wantCode(t, "V4 PutObject with an old x-oss-date", err, http.StatusForbidden, "RequestTimeTooSkewed")
}

// tamper is a transport that changes requests after the SDK signed them.
type tamper func(*http.Request)

func (f tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	f(r)
	return http.DefaultTransport.RoundTrip(r)
}

func TestSignatureCoversHeadersAndQuery(t *testing.T) {
	srv := start(t, nil)
	cases := []struct {
		name string
		v4   bool
		mod  func(*http.Request)
		do   func(b *oss.Bucket) error
	}{
		{"V1 forbid-overwrite header", false,
			func(r *http.Request) { r.Header.Set("X-Oss-Forbid-Overwrite", "false") },
			func(b *oss.Bucket) error { return put(b, "t1", "v", ossForbid()) }},
		{"V4 forbid-overwrite header", true,
			func(r *http.Request) { r.Header.Set("X-Oss-Forbid-Overwrite", "false") },
			func(b *oss.Bucket) error { return put(b, "t2", "v", ossForbid()) }},
		{"V1 user metadata", false,
			func(r *http.Request) { r.Header.Set("X-Oss-Meta-A", "forged") },
			func(b *oss.Bucket) error { return put(b, "t3", "v", oss.Meta("a", "b")) }},
		{"V1 content type", false,
			func(r *http.Request) { r.Header.Set("Content-Type", "text/html") },
			func(b *oss.Bucket) error { return put(b, "t4", "v") }},
		{"V1 continuation token", false,
			func(r *http.Request) {
				r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "continuation-token=a", "continuation-token=b", 1)
			},
			func(b *oss.Bucket) error { _, err := b.ListObjectsV2(oss.ContinuationToken("a")); return err }},
		{"V4 list prefix", true,
			func(r *http.Request) { r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "prefix=a", "prefix=b", 1) },
			func(b *oss.Bucket) error { _, err := b.ListObjectsV2(oss.Prefix("a")); return err }},
		{"V4 key", true,
			func(r *http.Request) { r.URL.Path = strings.Replace(r.URL.Path, "t7", "t8", 1); r.URL.RawPath = "" },
			func(b *oss.Bucket) error { return put(b, "t7", "v") }},
	}
	for _, c := range cases {
		var opts []oss.ClientOption
		if c.v4 {
			opts = v4(srv)
		}
		b := bucket(t, srv, append(opts, oss.HTTPClient(&http.Client{Transport: tamper(c.mod)}))...)
		wantCode(t, c.name, c.do(b), http.StatusForbidden, "SignatureDoesNotMatch")
	}
	res, err := bucket(t, srv).ListObjectsV2()
	if err != nil || len(res.Objects) != 0 {
		t.Fatalf("tampered requests wrote objects: %+v, %v", res.Objects, err)
	}
}

// errorDoc is the OSS XML error body.
type errorDoc struct {
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
	RequestID string `xml:"RequestId"`
	HostID    string `xml:"HostId"`
	EC        string `xml:"EC"`
}

func rawDo(t *testing.T, req *http.Request) (*http.Response, errorDoc) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var doc errorDoc
	if len(body) > 0 {
		if !strings.HasPrefix(string(body), `<?xml version="1.0" encoding="UTF-8"?>`) {
			t.Errorf("error body lacks the XML declaration: %s", body)
		}
		if err := xml.Unmarshal(body, &doc); err != nil {
			t.Fatalf("error body %s: %v", body, err)
		}
	}
	return resp, doc
}

func TestAnonymousAndUnsupportedAuth(t *testing.T) {
	srv := start(t, nil)
	url := srv.URL() + "/" + bucketName + "/anon"

	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader("anonymous"))
	resp, doc := rawDo(t, req)
	if resp.StatusCode != http.StatusForbidden || doc.Code != "AccessDenied" {
		t.Fatalf("anonymous PUT: %d %+v, want 403 AccessDenied", resp.StatusCode, doc)
	}
	if doc.RequestID == "" || doc.RequestID != resp.Header.Get("X-Oss-Request-Id") || doc.HostID == "" || doc.EC == "" {
		t.Errorf("error document %+v, x-oss-request-id %q", doc, resp.Header.Get("X-Oss-Request-Id"))
	}

	req, _ = http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "OSS2 AccessKeyId:"+testAK+",Signature:abc")
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if resp, doc := rawDo(t, req); resp.StatusCode != http.StatusNotImplemented || doc.Code != "NotImplemented" {
		t.Errorf("signature V2: %d %+v, want 501 NotImplemented", resp.StatusCode, doc)
	}

	req, _ = http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer x")
	if resp, doc := rawDo(t, req); resp.StatusCode != http.StatusForbidden || doc.Code != "AccessDenied" {
		t.Errorf("bogus scheme: %d %+v, want 403 AccessDenied", resp.StatusCode, doc)
	}

	signed, err := bucket(t, srv).SignURL("anon", oss.HTTPGet, 60)
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest(http.MethodGet, signed, nil)
	if resp, doc := rawDo(t, req); resp.StatusCode != http.StatusNotImplemented || doc.Code != "NotImplemented" {
		t.Errorf("signed URL: %d %+v, want 501 NotImplemented", resp.StatusCode, doc)
	}

	_, err = get(bucket(t, srv), "anon")
	wantCode(t, "GetObject after anonymous PUT", err, http.StatusNotFound, "NoSuchKey")
}
