package ossserver

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// listTimeFormat is the time format of XML results.
const listTimeFormat = "2006-01-02T15:04:05.000Z"

// List limits, as OSS's.
const (
	defaultMaxKeys = 100
	maxMaxKeys     = 1000
	maxMarkerLen   = 1024
)

// owner is the owner reported for every bucket and object.
var owner = xmlOwner{ID: "1000000000000000", DisplayName: "1000000000000000"}

type xmlOwner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

type xmlContents struct {
	Key          string    `xml:"Key"`
	LastModified string    `xml:"LastModified"`
	ETag         string    `xml:"ETag"`
	Type         string    `xml:"Type"`
	Size         int64     `xml:"Size"`
	StorageClass string    `xml:"StorageClass"`
	Owner        *xmlOwner `xml:"Owner,omitempty"`
}

type xmlCommonPrefix struct {
	Prefix string `xml:"Prefix"`
}

// listBucketResultV2 is ListObjectsV2's response body.
type listBucketResultV2 struct {
	XMLName               xml.Name          `xml:"ListBucketResult"`
	Name                  string            `xml:"Name"`
	Prefix                string            `xml:"Prefix"`
	StartAfter            *string           `xml:"StartAfter,omitempty"`
	ContinuationToken     *string           `xml:"ContinuationToken,omitempty"`
	MaxKeys               int               `xml:"MaxKeys"`
	Delimiter             string            `xml:"Delimiter"`
	EncodingType          string            `xml:"EncodingType,omitempty"`
	IsTruncated           bool              `xml:"IsTruncated"`
	NextContinuationToken string            `xml:"NextContinuationToken,omitempty"`
	KeyCount              int               `xml:"KeyCount"`
	Contents              []xmlContents     `xml:"Contents"`
	CommonPrefixes        []xmlCommonPrefix `xml:"CommonPrefixes"`
}

// listBucketResult is ListObjects's response body.
type listBucketResult struct {
	XMLName        xml.Name          `xml:"ListBucketResult"`
	Name           string            `xml:"Name"`
	Prefix         string            `xml:"Prefix"`
	Marker         string            `xml:"Marker"`
	MaxKeys        int               `xml:"MaxKeys"`
	Delimiter      string            `xml:"Delimiter"`
	EncodingType   string            `xml:"EncodingType,omitempty"`
	IsTruncated    bool              `xml:"IsTruncated"`
	NextMarker     string            `xml:"NextMarker,omitempty"`
	Contents       []xmlContents     `xml:"Contents"`
	CommonPrefixes []xmlCommonPrefix `xml:"CommonPrefixes"`
}

// listQuery is a validated listing request.
type listQuery struct {
	prefix, delimiter string
	// after excludes every entry (key or common prefix) not greater than it.
	after     string
	maxKeys   int
	urlEncode bool
}

// listEntry is a key or, when prefix is set, a common prefix.
type listEntry struct {
	meta   *objectMeta
	prefix string
}

// listLocked lists b in byte order; s.mu must be held. It returns the
// entries, whether more follow, and the last entry's key or prefix.
func listLocked(b *bucketState, q listQuery) (entries []listEntry, truncated bool, last string) {
	start := sort.SearchStrings(b.keys, q.prefix)
	if q.after >= q.prefix {
		start = sort.Search(len(b.keys), func(i int) bool { return b.keys[i] > q.after })
	}
	for _, key := range b.keys[start:] {
		if !strings.HasPrefix(key, q.prefix) {
			break // Keys are sorted: no later key has the prefix.
		}
		e := listEntry{meta: b.objects[key]}
		name := key
		if q.delimiter != "" {
			if i := strings.Index(key[len(q.prefix):], q.delimiter); i >= 0 {
				name = key[:len(q.prefix)+i+len(q.delimiter)]
				if name <= q.after || name == last {
					continue
				}
				e = listEntry{prefix: name}
			}
		}
		if len(entries) == q.maxKeys {
			return entries, true, last
		}
		entries = append(entries, e)
		last = name
	}
	return entries, false, last
}

// parseListQuery validates the parameters ListObjects and ListObjectsV2
// share.
func parseListQuery(q queryParams) (listQuery, error) {
	lq := listQuery{prefix: q["prefix"], delimiter: q["delimiter"], maxKeys: defaultMaxKeys}
	if v, ok := q["max-keys"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxMaxKeys {
			return lq, errInvalidArgument("max-keys", v, "max-keys must be an integer from 1 to %d.", maxMaxKeys)
		}
		lq.maxKeys = n
	}
	switch enc := q["encoding-type"]; enc {
	case "":
	case "url":
		lq.urlEncode = true
	default:
		return lq, errInvalidArgument("encoding-type", enc, "encoding-type must be url.")
	}
	if len(lq.prefix) > maxKeyLen {
		return lq, errInvalidArgument("prefix", lq.prefix, "The prefix is longer than %d bytes.", maxKeyLen)
	}
	if len(lq.delimiter) > maxKeyLen {
		return lq, errInvalidArgument("delimiter", lq.delimiter, "The delimiter is longer than %d bytes.", maxKeyLen)
	}
	return lq, nil
}

// encodeName URL-encodes s when the client asked for encoding-type=url.
func (lq listQuery) encodeName(s string) string {
	if !lq.urlEncode {
		return s
	}
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// contents converts entries to XML elements.
func (lq listQuery) contents(entries []listEntry, withOwner bool) ([]xmlContents, []xmlCommonPrefix) {
	var cs []xmlContents
	var ps []xmlCommonPrefix
	for _, e := range entries {
		if e.meta == nil {
			ps = append(ps, xmlCommonPrefix{Prefix: lq.encodeName(e.prefix)})
			continue
		}
		c := xmlContents{
			Key:          lq.encodeName(e.meta.Key),
			LastModified: e.meta.LastModified.Format(listTimeFormat),
			ETag:         quoteETag(e.meta.ETag),
			Type:         e.meta.Type,
			Size:         e.meta.Size,
			StorageClass: "Standard",
		}
		if withOwner {
			o := owner
			c.Owner = &o
		}
		cs = append(cs, c)
	}
	return cs, ps
}

// continuationToken encodes a listing position opaquely.
func continuationToken(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(after))
}

func parseContinuationToken(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || tok == "" {
		return "", errInvalidArgument("continuation-token", tok, "The continuation token provided is incorrect.")
	}
	return string(b), nil
}

// listObjectsV2 implements ListObjectsV2 (GET /bucket/?list-type=2).
func (s *Server) listObjectsV2(rq *request) error {
	if err := checkOSSHeaders(rq); err != nil {
		return err
	}
	q := rq.query
	if v := q["list-type"]; v != "2" {
		return errInvalidArgument("list-type", v, "list-type must be 2.")
	}
	lq, err := parseListQuery(q)
	if err != nil {
		return err
	}
	fetchOwner := false
	switch v := q["fetch-owner"]; v {
	case "", "false":
	case "true":
		fetchOwner = true
	default:
		return errInvalidArgument("fetch-owner", v, "fetch-owner must be true or false.")
	}
	res := listBucketResultV2{Name: rq.bucket, MaxKeys: lq.maxKeys}
	if v, ok := q["start-after"]; ok {
		if len(v) > maxMarkerLen {
			return errInvalidArgument("start-after", v, "start-after is longer than %d bytes.", maxMarkerLen)
		}
		lq.after = v
		enc := lq.encodeName(v)
		res.StartAfter = &enc
	}
	if tok, ok := q["continuation-token"]; ok {
		after, err := parseContinuationToken(tok)
		if err != nil {
			return err
		}
		lq.after = after // The token takes precedence over start-after.
		res.ContinuationToken = &tok
	}

	s.mu.Lock()
	b, e := s.bucketLocked(rq.bucket)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	entries, truncated, last := listLocked(b, lq)
	res.Contents, res.CommonPrefixes = lq.contents(entries, fetchOwner)
	s.mu.Unlock()

	res.Prefix = lq.encodeName(lq.prefix)
	res.Delimiter = lq.encodeName(lq.delimiter)
	if lq.urlEncode {
		res.EncodingType = "url"
	}
	res.IsTruncated = truncated
	res.KeyCount = len(entries)
	if truncated {
		res.NextContinuationToken = lq.encodeName(continuationToken(last))
	}
	return writeXML(rq.w, http.StatusOK, res)
}

// listObjects implements ListObjects (GET /bucket/).
func (s *Server) listObjects(rq *request) error {
	if err := checkOSSHeaders(rq); err != nil {
		return err
	}
	lq, err := parseListQuery(rq.query)
	if err != nil {
		return err
	}
	marker := rq.query["marker"]
	if len(marker) > maxMarkerLen {
		return errInvalidArgument("marker", marker, "marker is longer than %d bytes.", maxMarkerLen)
	}
	lq.after = marker

	s.mu.Lock()
	b, e := s.bucketLocked(rq.bucket)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	entries, truncated, last := listLocked(b, lq)
	res := listBucketResult{Name: rq.bucket, MaxKeys: lq.maxKeys, IsTruncated: truncated}
	res.Contents, res.CommonPrefixes = lq.contents(entries, true)
	s.mu.Unlock()

	res.Prefix = lq.encodeName(lq.prefix)
	res.Marker = lq.encodeName(marker)
	res.Delimiter = lq.encodeName(lq.delimiter)
	if lq.urlEncode {
		res.EncodingType = "url"
	}
	if truncated {
		res.NextMarker = lq.encodeName(last)
	}
	return writeXML(rq.w, http.StatusOK, res)
}

// writeXML answers status with v as an XML document.
func writeXML(w http.ResponseWriter, status int, v any) error {
	body, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	body = append([]byte(xml.Header), body...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // The client may be gone; nothing to do about it.
	return nil
}
