package ossserver

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxObjectSize is OSS's limit for PutObject, CopyObject and appendable
// objects. Request bodies are buffered in memory, so in practice the
// machine's memory is the limit.
const maxObjectSize = 5 << 30

// maxUserMetaSize is OSS's limit on the total size of x-oss-meta-* headers.
const maxUserMetaSize = 8 << 10

// crcTable is CRC-64/ECMA, as the SDK's CrcTable.
var crcTable = crc64.MakeTable(crc64.ECMA)

// storedHeaders are the standard headers an upload stores and downloads
// return.
var storedHeaders = []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires"}

// conditionalHeaders are the request headers OSS refuses on writes.
var conditionalHeaders = []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"}

// alwaysAllowedOSSHeaders are x-oss-* request headers every operation
// accepts: they take part in authentication.
var alwaysAllowedOSSHeaders = []string{hdrOSSDate, hdrContentSHA256, hdrSecurityToken}

// checkOSSHeaders rejects x-oss-* request headers that the operation does
// not implement, so that no requested behaviour is silently ignored.
// x-oss-meta-* headers are checked by userMeta.
func checkOSSHeaders(rq *request, allowed ...string) error {
	for k := range rq.r.Header {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "x-oss-") || strings.HasPrefix(lk, metaPrefix) {
			continue
		}
		ok := false
		for _, a := range append(allowed, alwaysAllowedOSSHeaders...) {
			if strings.EqualFold(a, k) {
				ok = true
				break
			}
		}
		if !ok {
			return errUnsupported("header %s is not supported for %s", lk, rq.op.name)
		}
	}
	if sc := rq.r.Header.Get(hdrStorageClass); sc != "" && sc != "Standard" {
		return errUnsupported("storage class %q is not supported; only Standard", sc)
	}
	return nil
}

// rejectConditionalWrite answers If-* headers on a write as OSS does.
func rejectConditionalWrite(r *http.Request) error {
	for _, h := range conditionalHeaders {
		if _, ok := r.Header[h]; ok {
			return errConditionalWrite(h)
		}
	}
	return nil
}

// forbidOverwrite parses x-oss-forbid-overwrite.
func forbidOverwrite(r *http.Request) (bool, error) {
	v, ok := r.Header[hdrForbidOverwrite]
	if !ok {
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(v[0])) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errInvalidArgument(strings.ToLower(hdrForbidOverwrite), v[0], "x-oss-forbid-overwrite must be true or false.")
}

// userMeta returns the request's x-oss-meta-* headers by lower-case name.
func userMeta(r *http.Request) (map[string]string, error) {
	var m map[string]string
	total := 0
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, metaPrefix) {
			continue
		}
		if lk == metaPrefix {
			return nil, errInvalidArgument(lk, v[0], "A user metadata header must have a name after x-oss-meta-.")
		}
		if m == nil {
			m = map[string]string{}
		}
		m[lk] = v[0]
		total += len(lk) - len(metaPrefix) + len(v[0])
	}
	if total > maxUserMetaSize {
		return nil, errInvalidArgument("x-oss-meta-*", strconv.Itoa(total),
			"The total size of user metadata exceeds %d bytes.", maxUserMetaSize)
	}
	return m, nil
}

// metaFromRequest collects the object attributes an upload stores.
func metaFromRequest(r *http.Request) (*objectMeta, error) {
	um, err := userMeta(r)
	if err != nil {
		return nil, err
	}
	m := &objectMeta{ContentType: r.Header.Get("Content-Type"), UserMeta: um}
	if m.ContentType == "" {
		m.ContentType = "application/octet-stream"
	}
	for _, h := range storedHeaders {
		if v := r.Header.Get(h); v != "" {
			if m.Headers == nil {
				m.Headers = map[string]string{}
			}
			m.Headers[h] = v
		}
	}
	return m, nil
}

// readBody reads the whole request body, refusing more than limit bytes.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, errEntityTooLarge(limit)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		// Trust the declared length for preallocation only up to a point.
		buf.Grow(int(min(r.ContentLength, 64<<20)))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, errIncompleteBody("The request body could not be read: %v", err)
	}
	if n > limit {
		return nil, errEntityTooLarge(limit)
	}
	return buf.Bytes(), nil
}

// checkContentMD5 verifies a Content-MD5 header against the body.
func checkContentMD5(r *http.Request, data []byte) error {
	h := r.Header.Get("Content-MD5")
	if h == "" {
		return nil
	}
	want, err := base64.StdEncoding.DecodeString(h)
	if err != nil || len(want) != md5.Size {
		return errInvalidDigest("The Content-MD5 you specified was invalid.")
	}
	if sum := md5.Sum(data); !bytes.Equal(sum[:], want) {
		return errInvalidDigest("The Content-MD5 you specified did not match what we received.")
	}
	return nil
}

// md5ETag is the ETag of a Normal object: upper-case hex MD5.
func md5ETag(data []byte) string {
	sum := md5.Sum(data)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// appendETag is the ETag of an Appendable object. Like OSS's, it is not the
// MD5 of the content, so clients cannot come to rely on that.
func appendETag(crc uint64, size int64) string {
	return fmt.Sprintf("%016X%016X", crc, uint64(size))
}

// newVersionID returns the version id of a new write to b: random when
// versioning is enabled, "null" when suspended, none when never enabled.
func newVersionID(b *bucketState) string {
	switch b.versioning {
	case versioningEnabled:
		var r [16]byte
		_, _ = rand.Read(r[:]) // crypto/rand.Read never fails on supported platforms.
		return "CAEQ" + strings.ToUpper(hex.EncodeToString(r[:]))
	case versioningSuspended:
		return "null"
	}
	return ""
}

// quoteETag formats an ETag for headers and XML.
func quoteETag(etag string) string { return `"` + etag + `"` }

// setWriteHeaders sets the headers a successful write answers with.
func setWriteHeaders(w http.ResponseWriter, m *objectMeta) {
	h := w.Header()
	h.Set("ETag", quoteETag(m.ETag))
	h.Set(hdrCRC64, strconv.FormatUint(m.CRC64, 10))
	if m.VersionID != "" {
		h.Set(hdrVersionID, m.VersionID)
	}
}

// commitNew stores data as the body of m and indexes m in place of old.
// s.mu must be held.
func (s *Server) commitNew(b *bucketState, m *objectMeta, data []byte, old *objectMeta) error {
	blob, err := s.backend.writeBody(b.name, data)
	if err != nil {
		return err
	}
	m.Blob = blob
	if err := s.backend.saveMeta(b.name, m); err != nil {
		if rerr := s.backend.removeBody(b.name, blob); rerr != nil {
			s.logf("ossserver: removing uncommitted body: %v", rerr)
		}
		return err
	}
	b.put(m)
	if old != nil {
		if err := s.backend.removeBody(b.name, old.Blob); err != nil {
			s.logf("ossserver: removing replaced body of %q: %v", old.Key, err)
		}
	}
	return nil
}

// requireBucket answers NoSuchBucket early, before a request body is read.
func (s *Server) requireBucket(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, e := s.bucketLocked(name)
	if e != nil {
		return e
	}
	return nil
}

// putObject implements PutObject.
func (s *Server) putObject(rq *request) error {
	r := rq.r
	if err := rejectConditionalWrite(r); err != nil {
		return err
	}
	if err := checkOSSHeaders(rq, hdrForbidOverwrite, hdrStorageClass); err != nil {
		return err
	}
	forbid, err := forbidOverwrite(r)
	if err != nil {
		return err
	}
	m, err := metaFromRequest(r)
	if err != nil {
		return err
	}
	if err := s.requireBucket(rq.bucket); err != nil {
		return err
	}
	data, err := readBody(r, maxObjectSize)
	if err != nil {
		return err
	}
	if err := checkContentMD5(r, data); err != nil {
		return err
	}
	m.Key = rq.key
	m.Type = typeNormal
	m.Size = int64(len(data))
	m.ETag = md5ETag(data)
	m.CRC64 = crc64.Checksum(data, crcTable)

	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.bucketLocked(rq.bucket)
	if e != nil {
		return e
	}
	old := b.objects[rq.key]
	// OSS ignores x-oss-forbid-overwrite once versioning has been enabled.
	if forbid && old != nil && b.versioning == versioningOff {
		return errFileAlreadyExists()
	}
	m.LastModified = s.now().UTC()
	m.VersionID = newVersionID(b)
	if err := s.commitNew(b, m, data, old); err != nil {
		return err
	}
	setWriteHeaders(rq.w, m)
	sum := md5.Sum(data)
	rq.w.Header().Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	rq.w.Header().Set("Content-Length", "0")
	rq.w.WriteHeader(http.StatusOK)
	return nil
}

// copyObjectResult is CopyObject's response body.
type copyObjectResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
}

// copyObject implements CopyObject within and across buckets.
func (s *Server) copyObject(rq *request) error {
	r := rq.r
	if err := rejectConditionalWrite(r); err != nil {
		return err
	}
	if err := checkOSSHeaders(rq, hdrForbidOverwrite, hdrStorageClass, hdrCopySource, hdrMetadataDirective,
		"X-Oss-Copy-Source-If-Match", "X-Oss-Copy-Source-If-None-Match",
		"X-Oss-Copy-Source-If-Modified-Since", "X-Oss-Copy-Source-If-Unmodified-Since"); err != nil {
		return err
	}
	forbid, err := forbidOverwrite(r)
	if err != nil {
		return err
	}
	srcBucket, srcKey, err := parseCopySource(r.Header.Get(hdrCopySource))
	if err != nil {
		return err
	}
	directive := r.Header.Get(hdrMetadataDirective)
	if directive != "" && directive != "COPY" && directive != "REPLACE" {
		return errInvalidArgument(strings.ToLower(hdrMetadataDirective), directive,
			"x-oss-metadata-directive must be COPY or REPLACE.")
	}
	replacement, err := metaFromRequest(r)
	if err != nil {
		return err
	}
	// The request body, if any, is ignored by OSS; drain it.
	if _, err := io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20)); err != nil {
		return errIncompleteBody("The request body could not be read: %v", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	sb, e := s.bucketLocked(srcBucket)
	if e != nil {
		return e
	}
	src := sb.objects[srcKey]
	if src == nil {
		return errNoSuchKey(srcKey)
	}
	if src.Type != typeNormal {
		return errInvalidArgument(strings.ToLower(hdrCopySource), r.Header.Get(hdrCopySource),
			"Appendable objects cannot be copied.")
	}
	if cerr := checkCopySourceConditions(r, src); cerr != nil {
		if errors.Is(cerr, errNotModified) {
			rq.w.WriteHeader(http.StatusNotModified)
			return nil
		}
		return cerr
	}
	db, e := s.bucketLocked(rq.bucket)
	if e != nil {
		return e
	}
	old := db.objects[rq.key]
	if forbid && old != nil && db.versioning == versioningOff {
		return errFileAlreadyExists()
	}
	data, err := s.readAllLocked(srcBucket, src)
	if err != nil {
		return err
	}
	m := src.clone()
	if directive == "REPLACE" {
		m.ContentType, m.Headers, m.UserMeta = replacement.ContentType, replacement.Headers, replacement.UserMeta
	}
	m.Key = rq.key
	m.LastModified = s.now().UTC()
	m.VersionID = newVersionID(db)
	if err := s.commitNew(db, m, data, old); err != nil {
		return err
	}
	setWriteHeaders(rq.w, m)
	return writeXML(rq.w, http.StatusOK, copyObjectResult{
		ETag: quoteETag(m.ETag), LastModified: m.LastModified.Format(listTimeFormat)})
}

// checkCopySourceConditions evaluates the x-oss-copy-source-if-* headers
// like checkReadConditions: 412 on a failed If-Match or If-Unmodified-Since,
// errNotModified (304) on a matching If-None-Match or an If-Modified-Since
// the source was not modified after.
func checkCopySourceConditions(r *http.Request, src *objectMeta) error {
	lm := src.LastModified.Truncate(time.Second)
	if v, ok := r.Header["X-Oss-Copy-Source-If-Match"]; ok {
		if !etagMatches(v[0], src.ETag) {
			return errPreconditionFailed("x-oss-copy-source-if-match")
		}
	} else if v := r.Header.Get("X-Oss-Copy-Source-If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && lm.After(t) {
			return errPreconditionFailed("x-oss-copy-source-if-unmodified-since")
		}
	}
	if v, ok := r.Header["X-Oss-Copy-Source-If-None-Match"]; ok {
		if etagMatches(v[0], src.ETag) {
			return errNotModified
		}
	} else if v := r.Header.Get("X-Oss-Copy-Source-If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !lm.After(t) {
			return errNotModified
		}
	}
	return nil
}

// readAllLocked reads a whole body; s.mu must be held.
func (s *Server) readAllLocked(bucket string, m *objectMeta) ([]byte, error) {
	body, err := s.backend.openBody(bucket, m.Blob, m.Size)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data := make([]byte, m.Size)
	if _, err := body.ReadAt(data, 0); err != nil && !(errors.Is(err, io.EOF) && m.Size == 0) {
		return nil, err
	}
	return data, nil
}

// parseCopySource parses x-oss-copy-source: /bucket/url-encoded-key.
func parseCopySource(v string) (bucket, key string, err error) {
	bad := func(why string) error {
		return errInvalidArgument(strings.ToLower(hdrCopySource), v, "x-oss-copy-source %s.", why)
	}
	if strings.Contains(v, "?") {
		return "", "", errUnsupported("copying a version (x-oss-copy-source with ?versionId) is not implemented")
	}
	rest, ok := strings.CutPrefix(v, "/")
	if !ok {
		return "", "", bad("must start with /")
	}
	bucket, escKey, ok := strings.Cut(rest, "/")
	if !ok || escKey == "" {
		return "", "", bad("must be /bucket/key")
	}
	// The SDK escapes the key with url.QueryEscape.
	key, uerr := url.QueryUnescape(escKey)
	if uerr != nil {
		return "", "", bad("is not URL-encoded correctly")
	}
	if !validBucketName(bucket) {
		return "", "", errInvalidBucketName(bucket)
	}
	if e := checkKey(key); e != nil {
		return "", "", e
	}
	return bucket, key, nil
}

// deleteObject implements DeleteObject: 204 whether or not the key exists.
func (s *Server) deleteObject(rq *request) error {
	for _, h := range conditionalHeaders {
		if _, ok := rq.r.Header[h]; ok {
			return errUnsupported("conditional DeleteObject (%s) is not supported by OSS", h)
		}
	}
	if err := checkOSSHeaders(rq); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.bucketLocked(rq.bucket)
	if e != nil {
		return e
	}
	if err := s.removeLocked(b, rq.key); err != nil {
		return err
	}
	if b.versioning != versioningOff {
		rq.w.Header().Set(hdrDeleteMarker, "true")
		rq.w.Header().Set(hdrVersionID, newVersionID(b))
	}
	rq.w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeLocked deletes key from b if it exists; s.mu must be held.
func (s *Server) removeLocked(b *bucketState, key string) error {
	o := b.objects[key]
	if o == nil {
		return nil
	}
	if err := s.backend.removeMeta(b.name, key); err != nil {
		return err
	}
	b.remove(key)
	if err := s.backend.removeBody(b.name, o.Blob); err != nil {
		s.logf("ossserver: removing body of deleted %q: %v", key, err)
	}
	return nil
}
