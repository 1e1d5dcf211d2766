package ossserver

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"hash/crc64"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"mediastate/shared/ossx"
	"mediastate/shared/ossx/memstore"
)

// Header names used by OSS.
const (
	hdrRequestID       = "X-Oss-Request-Id"
	hdrForbidOverwrite = "X-Oss-Forbid-Overwrite"
	hdrSecurityToken   = "X-Oss-Security-Token"
	hdrOSSDate         = "X-Oss-Date"
	hdrContentSHA256   = "X-Oss-Content-Sha256"
	metaPrefix         = "x-oss-meta-"
)

// request is one OSS API request being served.
type request struct {
	w           http.ResponseWriter
	r           *http.Request
	id          string
	bucket, key string
	query       url.Values
	op          *operation
	store       *memstore.Store
}

// operation is one OSS API operation the server implements.
type operation struct {
	// name is the OSS API name, used in Stats and Faults.Ops.
	name   string
	handle func(s *Server, rq *request) error
	// params are the query parameters it accepts; others are refused.
	params []string
	// headers are the x-oss-* headers it accepts beyond authentication's.
	headers []string
}

// The operations.
var (
	opGetBucketVersioning = &operation{"GetBucketVersioning", (*Server).getVersioning, []string{"versioning"}, nil}
	opListObjectsV2       = &operation{"ListObjectsV2", (*Server).listObjectsV2, []string{
		"list-type", "prefix", "delimiter", "max-keys", "continuation-token", "start-after", "encoding-type"}, nil}
	opDeleteObjects = &operation{"DeleteObjects", (*Server).deleteObjects, []string{"delete", "encoding-type"}, nil}
	opPutObject     = &operation{"PutObject", (*Server).putObject, nil, []string{hdrForbidOverwrite, "X-Oss-Storage-Class"}}
	opGetObject     = &operation{"GetObject", (*Server).getObject, nil, nil}
	opHeadObject    = &operation{"HeadObject", (*Server).getObject, nil, nil}
	opDeleteObject  = &operation{"DeleteObject", (*Server).deleteObject, nil, nil}
	// opUnsupported stands for every request the server does not implement.
	opUnsupported = &operation{name: "Unsupported"}
)

// selectOperation maps method, target and sub-resource to an operation.
func selectOperation(r *http.Request, bucket, key string, q url.Values) *operation {
	switch {
	case bucket == "":
	case key == "" && r.Method == http.MethodGet && q.Has("versioning"):
		return opGetBucketVersioning
	case key == "" && r.Method == http.MethodGet && q.Has("list-type"):
		return opListObjectsV2
	case key == "" && r.Method == http.MethodPost && q.Has("delete"):
		return opDeleteObjects
	case key == "":
	case r.Method == http.MethodPut && r.Header.Get("X-Oss-Copy-Source") == "":
		return opPutObject
	case r.Method == http.MethodGet:
		return opGetObject
	case r.Method == http.MethodHead:
		return opHeadObject
	case r.Method == http.MethodDelete:
		return opDeleteObject
	}
	return opUnsupported
}

// route parses the request target and selects its operation. rq.op is set
// even when an error is returned, so that the request can be counted.
func (s *Server) route(rq *request) *apiError {
	r := rq.r
	p := strings.TrimPrefix(r.URL.Path, "/")
	rq.bucket, rq.key, _ = strings.Cut(p, "/")
	q, err := url.ParseQuery(r.URL.RawQuery)
	rq.query, rq.op = q, selectOperation(r, rq.bucket, rq.key, q)
	switch {
	case err != nil:
		return errInvalidArgument("query", r.URL.RawQuery, "The query string is malformed: %v", err)
	case rq.op == opUnsupported:
		return errUnsupported("%s %s?%s is not implemented", r.Method, r.URL.Path, r.URL.RawQuery)
	case !validBucketName(rq.bucket):
		return errInvalidBucketName(rq.bucket)
	case len(rq.key) > 1023 || !utf8.ValidString(rq.key) || strings.HasPrefix(rq.key, `\`):
		return errInvalidObjectName("The object name is not valid.")
	}
	for k, v := range q {
		if !slices.Contains(rq.op.params, k) {
			return errUnsupported("query parameter %q is not supported for %s", k, rq.op.name)
		}
		if len(v) > 1 {
			return errInvalidArgument(k, strings.Join(v, ","), "Query parameter %q is repeated.", k)
		}
	}
	for k := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-oss-") && !strings.HasPrefix(lk, metaPrefix) &&
			!slices.Contains(append([]string{hdrOSSDate, hdrContentSHA256, hdrSecurityToken}, rq.op.headers...), k) {
			return errUnsupported("header %s is not supported for %s", lk, rq.op.name)
		}
	}
	if sc := r.Header.Get("X-Oss-Storage-Class"); sc != "" && sc != "Standard" {
		return errUnsupported("storage class %q is not supported; only Standard", sc)
	}
	for _, h := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "Range"} {
		if _, ok := r.Header[h]; !ok {
			continue
		}
		if rq.op == opPutObject && h != "Range" {
			return errConditionalWrite(h) // OSS's own answer.
		}
		return errUnsupported("header %s is not supported for %s", h, rq.op.name)
	}
	if rq.store = s.buckets[rq.bucket]; rq.store == nil {
		return errNoSuchBucket(rq.bucket)
	}
	return nil
}

// validBucketName applies OSS's bucket naming rules.
func validBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	return strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}

// storeErr turns a memstore error into OSS's answer.
func storeErr(err error, key string) error {
	switch {
	case errors.Is(err, ossx.ErrNotFound):
		return errNoSuchKey(key)
	case errors.Is(err, ossx.ErrExists):
		return errFileAlreadyExists()
	case errors.Is(err, memstore.ErrInvalidToken):
		return errInvalidArgument("continuation-token", key, "The continuation token provided is incorrect.")
	}
	return err
}

var crcTable = crc64.MakeTable(crc64.ECMA)

// readBody reads a request body of at most limit bytes and checks its
// Content-MD5, when there is one.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, errIncompleteBody("The request body could not be read: %v", err)
	}
	if int64(len(body)) > limit {
		return nil, newError(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
	}
	if h := r.Header.Get("Content-MD5"); h != "" {
		if sum := md5.Sum(body); h != base64.StdEncoding.EncodeToString(sum[:]) {
			return nil, newError(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	return body, nil
}

// putObject implements PutObject.
func (s *Server) putObject(rq *request) error {
	o := ossx.PutOptions{ContentType: rq.r.Header.Get("Content-Type"), Meta: map[string]string{}}
	switch v := rq.r.Header.Get(hdrForbidOverwrite); strings.ToLower(v) {
	case "true":
		o.ForbidOverwrite = true
	case "", "false":
	default:
		return errInvalidArgument("x-oss-forbid-overwrite", v, "x-oss-forbid-overwrite must be true or false.")
	}
	for k, v := range rq.r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, metaPrefix) {
			o.Meta[strings.TrimPrefix(lk, metaPrefix)] = v[0]
		}
	}
	body, err := readBody(rq.r, 64<<20)
	if err != nil {
		return err
	}
	if err := rq.store.Put(context.Background(), rq.key, body, o); err != nil {
		return storeErr(err, rq.key)
	}
	info, err := rq.store.Head(context.Background(), rq.key)
	if err != nil {
		return err
	}
	rq.w.Header().Set("ETag", info.ETag)
	rq.w.Header().Set("X-Oss-Hash-Crc64ecma", strconv.FormatUint(crc64.Checksum(body, crcTable), 10))
	rq.w.WriteHeader(http.StatusOK)
	return nil
}

// getObject implements GetObject and HeadObject.
func (s *Server) getObject(rq *request) error {
	body, info, err := rq.store.Get(context.Background(), rq.key)
	if err != nil {
		return storeErr(err, rq.key)
	}
	h := rq.w.Header()
	h.Set("Content-Type", info.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("ETag", info.ETag)
	h.Set("Last-Modified", info.LastModified.Format(http.TimeFormat))
	h.Set("X-Oss-Object-Type", "Normal")
	h.Set("X-Oss-Storage-Class", "Standard")
	h.Set("X-Oss-Hash-Crc64ecma", strconv.FormatUint(crc64.Checksum(body, crcTable), 10))
	for k, v := range info.Meta {
		h.Set(metaPrefix+k, v)
	}
	rq.w.WriteHeader(http.StatusOK)
	if rq.r.Method == http.MethodGet {
		_, _ = rq.w.Write(body) // The client may be gone; nothing to do about it.
	}
	return nil
}

// deleteObject implements DeleteObject: 204 whether or not the key exists.
func (s *Server) deleteObject(rq *request) error {
	if err := rq.store.Delete(context.Background(), []string{rq.key}); err != nil {
		return err
	}
	rq.w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteObjects implements DeleteObjects (POST /bucket/?delete). Content-MD5
// is required; keys that do not exist are reported deleted, as on OSS.
func (s *Server) deleteObjects(rq *request) error {
	if rq.r.Header.Get("Content-MD5") == "" {
		return newError(http.StatusBadRequest, "MissingArgument", "Missing Some Required Arguments.").with("ArgumentName", "Content-MD5")
	}
	raw, err := readBody(rq.r, 2<<20)
	if err != nil {
		return err
	}
	var req struct {
		Quiet   bool `xml:"Quiet"`
		Objects []struct {
			Key string `xml:"Key"`
		} `xml:"Object"`
	}
	if err := xml.Unmarshal(raw, &req); err != nil || len(req.Objects) == 0 || len(req.Objects) > 1000 {
		return newError(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not name 1 to 1000 objects.")
	}
	enc := encoder(rq.query.Get("encoding-type") == "url")
	res := struct {
		XMLName      xml.Name `xml:"DeleteResult"`
		EncodingType string   `xml:"EncodingType,omitempty"`
		Deleted      []xmlKey `xml:"Deleted"`
	}{}
	var keys []string
	for _, o := range req.Objects {
		if o.Key == "" {
			return newError(http.StatusBadRequest, "MalformedXML", "Every Object must have a non-empty Key.")
		}
		keys = append(keys, o.Key)
		if !req.Quiet {
			res.Deleted = append(res.Deleted, xmlKey{enc(o.Key)})
		}
	}
	if err := rq.store.Delete(context.Background(), keys); err != nil {
		return err
	}
	if rq.query.Get("encoding-type") == "url" {
		res.EncodingType = "url"
	}
	return writeXML(rq.w, res)
}

// getVersioning implements GetBucketVersioning.
func (s *Server) getVersioning(rq *request) error {
	status, err := rq.store.Versioning(context.Background())
	if err != nil {
		return err
	}
	return writeXML(rq.w, struct {
		XMLName xml.Name `xml:"VersioningConfiguration"`
		Status  string   `xml:"Status,omitempty"`
	}{Status: status})
}

// encoder returns the URL encoding of names for encoding-type=url, or the
// identity.
func encoder(urlEncode bool) func(string) string {
	if !urlEncode {
		return func(s string) string { return s }
	}
	return func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
}

type (
	xmlKey    struct{ Key string }
	xmlPrefix struct{ Prefix string }
)

type xmlContents struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Type         string `xml:"Type"`
	Size         int64  `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

// listObjectsV2 implements ListObjectsV2 (GET /bucket/?list-type=2).
func (s *Server) listObjectsV2(rq *request) error {
	q := rq.query
	if v := q.Get("list-type"); v != "2" {
		return errInvalidArgument("list-type", v, "list-type must be 2.")
	}
	o := ossx.ListOptions{Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), StartAfter: q.Get("start-after"),
		ContinuationToken: q.Get("continuation-token"), MaxKeys: 100}
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errInvalidArgument("max-keys", v, "max-keys must be an integer from 1 to 1000.")
		}
		o.MaxKeys = n
	}
	if v := q.Get("encoding-type"); v != "" && v != "url" {
		return errInvalidArgument("encoding-type", v, "encoding-type must be url.")
	}
	if q.Has("continuation-token") && o.ContinuationToken == "" {
		return errInvalidArgument("continuation-token", "", "The continuation token provided is incorrect.")
	}
	page, err := rq.store.List(context.Background(), o)
	if err != nil {
		return storeErr(err, o.ContinuationToken)
	}
	enc := encoder(q.Get("encoding-type") == "url")
	res := struct {
		XMLName               xml.Name      `xml:"ListBucketResult"`
		Name                  string        `xml:"Name"`
		Prefix                string        `xml:"Prefix"`
		StartAfter            string        `xml:"StartAfter,omitempty"`
		ContinuationToken     string        `xml:"ContinuationToken,omitempty"`
		MaxKeys               int           `xml:"MaxKeys"`
		Delimiter             string        `xml:"Delimiter"`
		EncodingType          string        `xml:"EncodingType,omitempty"`
		IsTruncated           bool          `xml:"IsTruncated"`
		NextContinuationToken string        `xml:"NextContinuationToken,omitempty"`
		KeyCount              int           `xml:"KeyCount"`
		Contents              []xmlContents `xml:"Contents"`
		CommonPrefixes        []xmlPrefix   `xml:"CommonPrefixes"`
	}{Name: rq.bucket, Prefix: enc(o.Prefix), StartAfter: enc(o.StartAfter), ContinuationToken: o.ContinuationToken,
		MaxKeys: o.MaxKeys, Delimiter: enc(o.Delimiter), EncodingType: q.Get("encoding-type"),
		IsTruncated: page.NextToken != "", NextContinuationToken: page.NextToken,
		KeyCount: len(page.Objects) + len(page.CommonPrefixes)}
	for _, obj := range page.Objects {
		res.Contents = append(res.Contents, xmlContents{Key: enc(obj.Key), LastModified: obj.LastModified.UTC().Format("2006-01-02T15:04:05.000Z"),
			ETag: obj.ETag, Type: "Normal", Size: obj.Size, StorageClass: "Standard"})
	}
	for _, p := range page.CommonPrefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, xmlPrefix{enc(p)})
	}
	return writeXML(rq.w, res)
}

// writeXML answers 200 with v as an XML document.
func writeXML(w http.ResponseWriter, v any) error {
	body, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	body = append([]byte(xml.Header), body...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, bytes.NewReader(body)) // The client may be gone; nothing to do about it.
	return nil
}
