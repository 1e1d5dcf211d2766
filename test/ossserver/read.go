package ossserver

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// errNotModified is returned by checkReadConditions for a 304 answer.
var errNotModified = errors.New("not modified")

// getObject implements GetObject.
func (s *Server) getObject(rq *request) error { return s.readObject(rq, true) }

// headObject implements HeadObject (GetObjectDetailedMeta in the SDK).
func (s *Server) headObject(rq *request) error { return s.readObject(rq, false) }

// snapshot returns a copy of key's metadata and, with open, a reader of
// its body that stays valid after the lock is released.
func (s *Server) snapshot(bucket, key string, open bool) (*objectMeta, bodyReader, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.bucketLocked(bucket)
	if e != nil {
		return nil, nil, e
	}
	o := b.objects[key]
	if o == nil {
		return nil, nil, errNoSuchKey(key)
	}
	m := o.clone()
	if !open {
		return m, nil, nil
	}
	body, err := s.backend.openBody(bucket, m.Blob, m.Size)
	if err != nil {
		return nil, nil, err
	}
	return m, body, nil
}

func (s *Server) readObject(rq *request, withBody bool) error {
	r := rq.r
	if err := checkOSSHeaders(rq, hdrRangeBehavior); err != nil {
		return err
	}
	m, body, err := s.snapshot(rq.bucket, rq.key, withBody)
	if err != nil {
		return err
	}
	if body != nil {
		defer body.Close()
	}
	h := rq.w.Header()
	if err := checkReadConditions(r, m); err != nil {
		if errors.Is(err, errNotModified) {
			h.Set("ETag", quoteETag(m.ETag))
			h.Set("Last-Modified", m.LastModified.Format(http.TimeFormat))
			rq.w.WriteHeader(http.StatusNotModified)
			return nil
		}
		return err
	}
	setObjectHeaders(h, m)

	start, length, partial := int64(0), m.Size, false
	if withBody {
		rng, err := parseRange(r.Header.Get("Range"), m.Size, r.Header.Get(hdrRangeBehavior) == "standard")
		if err != nil {
			return err
		}
		if rng != nil {
			start, length, partial = rng.start, rng.length, true
			h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+
				strconv.FormatInt(start+length-1, 10)+"/"+strconv.FormatInt(m.Size, 10))
		}
		for _, p := range responseOverrideParams {
			if v, ok := rq.query[p]; ok {
				h.Set(strings.TrimPrefix(p, "response-"), v)
			}
		}
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
	}
	rq.w.WriteHeader(status)
	if !withBody || r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(rq.w, io.NewSectionReader(body, start, length)); err != nil {
		// The status line is out; all that is left is to cut the body short.
		s.logf("ossserver: %s GetObject %s/%s: writing body: %v", rq.id, rq.bucket, rq.key, err)
	}
	return nil
}

// setObjectHeaders sets the headers GetObject and HeadObject answer with.
func setObjectHeaders(h http.Header, m *objectMeta) {
	h.Set("Content-Type", m.ContentType)
	h.Set("ETag", quoteETag(m.ETag))
	h.Set("Last-Modified", m.LastModified.Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	h.Set(hdrObjectType, m.Type)
	h.Set(hdrCRC64, strconv.FormatUint(m.CRC64, 10))
	h.Set(hdrStorageClass, "Standard")
	if m.Type == typeAppendable {
		h.Set(hdrNextAppendPosition, strconv.FormatInt(m.Size, 10))
	}
	if m.VersionID != "" {
		h.Set(hdrVersionID, m.VersionID)
	}
	for k, v := range m.Headers {
		h.Set(k, v)
	}
	for k, v := range m.UserMeta {
		h.Set(k, v)
	}
}

// getObjectMeta implements GetObjectMeta (HEAD ?objectMeta), which returns
// only ETag, size and Last-Modified.
func (s *Server) getObjectMeta(rq *request) error {
	for _, c := range conditionalHeaders {
		if _, ok := rq.r.Header[c]; ok {
			return errUnsupported("%s is not supported for GetObjectMeta", c)
		}
	}
	if err := checkOSSHeaders(rq); err != nil {
		return err
	}
	m, _, err := s.snapshot(rq.bucket, rq.key, false)
	if err != nil {
		return err
	}
	h := rq.w.Header()
	h.Set("ETag", quoteETag(m.ETag))
	h.Set("Last-Modified", m.LastModified.Format(http.TimeFormat))
	h.Set("Content-Length", strconv.FormatInt(m.Size, 10))
	if m.VersionID != "" {
		h.Set(hdrVersionID, m.VersionID)
	}
	rq.w.WriteHeader(http.StatusOK)
	return nil
}

// checkReadConditions evaluates If-Match, If-Unmodified-Since,
// If-None-Match and If-Modified-Since in the order of RFC 7232. It returns
// a 412 error, errNotModified, or nil. Dates that do not parse are ignored.
func checkReadConditions(r *http.Request, m *objectMeta) error {
	lm := m.LastModified.Truncate(time.Second)
	if v, ok := r.Header["If-Match"]; ok {
		if !etagMatches(v[0], m.ETag) {
			return errPreconditionFailed("If-Match")
		}
	} else if v := r.Header.Get("If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && lm.After(t) {
			return errPreconditionFailed("If-Unmodified-Since")
		}
	}
	if v, ok := r.Header["If-None-Match"]; ok {
		if etagMatches(v[0], m.ETag) {
			return errNotModified
		}
	} else if v := r.Header.Get("If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !lm.After(t) {
			return errNotModified
		}
	}
	return nil
}

// etagMatches reports whether a comma-separated If-Match / If-None-Match
// list names etag. Quotes are optional; "*" matches any object.
func etagMatches(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "*" || strings.Trim(e, `"`) == etag {
			return true
		}
	}
	return false
}

// byteRange is a satisfiable single byte range.
type byteRange struct{ start, length int64 }

// parseRange parses a Range header as OSS does: a single range of the
// forms a-b, a- or -n. Invalid, multiple or unsatisfiable ranges make OSS
// return the whole object (nil, nil), unless x-oss-range-behavior: standard
// asks for 416 on unsatisfiable ones.
func parseRange(h string, size int64, standard bool) (*byteRange, error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return nil, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return nil, nil
	}
	unsatisfiable := func() (*byteRange, error) {
		if standard {
			return nil, newError(http.StatusRequestedRangeNotSatisfiable, "InvalidRange",
				"The requested range cannot be satisfied").
				withHeader("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		}
		return nil, nil
	}
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return nil, nil
		}
		if n == 0 || size == 0 {
			return unsatisfiable()
		}
		n = min(n, size)
		return &byteRange{start: size - n, length: n}, nil
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 {
		return nil, nil
	}
	b := size - 1
	if last != "" {
		if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
			return nil, nil
		}
	}
	if a >= size {
		return unsatisfiable()
	}
	b = min(b, size-1)
	return &byteRange{start: a, length: b - a + 1}, nil
}
