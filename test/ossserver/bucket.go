package ossserver

import (
	"encoding/xml"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxDeleteObjects is the most keys one DeleteObjects request may name.
const maxDeleteObjects = 1000

type listAllMyBucketsResult struct {
	XMLName     xml.Name    `xml:"ListAllMyBucketsResult"`
	Prefix      string      `xml:"Prefix"`
	Marker      string      `xml:"Marker"`
	MaxKeys     int         `xml:"MaxKeys"`
	IsTruncated bool        `xml:"IsTruncated"`
	NextMarker  string      `xml:"NextMarker,omitempty"`
	Owner       xmlOwner    `xml:"Owner"`
	Buckets     []xmlBucket `xml:"Buckets>Bucket"`
}

type xmlBucket struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	Location     string `xml:"Location"`
	ExtranetEP   string `xml:"ExtranetEndpoint"`
	IntranetEP   string `xml:"IntranetEndpoint"`
	Region       string `xml:"Region"`
	StorageClass string `xml:"StorageClass"`
}

// listBuckets implements ListBuckets (GET /).
func (s *Server) listBuckets(rq *request) error {
	if err := checkOSSHeaders(rq); err != nil {
		return err
	}
	q := rq.query
	maxKeys := defaultMaxKeys
	if v, ok := q["max-keys"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxMaxKeys {
			return errInvalidArgument("max-keys", v, "max-keys must be an integer from 1 to %d.", maxMaxKeys)
		}
		maxKeys = n
	}
	res := listAllMyBucketsResult{Prefix: q["prefix"], Marker: q["marker"], MaxKeys: maxKeys, Owner: owner}
	s.mu.Lock()
	names := make([]string, 0, len(s.buckets))
	for name := range s.buckets {
		if strings.HasPrefix(name, res.Prefix) && name > res.Marker {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) > maxKeys {
		names = names[:maxKeys]
		res.IsTruncated = true
		res.NextMarker = names[maxKeys-1]
	}
	for _, name := range names {
		res.Buckets = append(res.Buckets, xmlBucket{
			Name:         name,
			CreationDate: s.buckets[name].created.Format(listTimeFormat),
			Location:     "oss-" + s.region,
			ExtranetEP:   "oss-" + s.region + ".aliyuncs.com",
			IntranetEP:   "oss-" + s.region + "-internal.aliyuncs.com",
			Region:       s.region,
			StorageClass: "Standard",
		})
	}
	s.mu.Unlock()
	return writeXML(rq.w, http.StatusOK, res)
}

// putBucket implements PutBucket. The request body (storage class,
// redundancy) is accepted but only Standard storage is modelled.
func (s *Server) putBucket(rq *request) error {
	if err := checkOSSHeaders(rq, "X-Oss-Acl", "X-Oss-Resource-Group-Id"); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, io.LimitReader(rq.r.Body, 1<<20)); err != nil {
		return errIncompleteBody("The request body could not be read: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[rq.bucket]; ok {
		return newError(http.StatusConflict, "BucketAlreadyExists", "The requested bucket name is not available.").
			with("BucketName", rq.bucket)
	}
	b := newBucketState(rq.bucket, time.Now().UTC())
	if err := s.backend.saveBucket(b); err != nil {
		return err
	}
	s.buckets[rq.bucket] = b
	rq.w.Header().Set("Location", "/"+rq.bucket)
	rq.w.WriteHeader(http.StatusOK)
	return nil
}

// deleteBucket implements DeleteBucket; the bucket must be empty.
func (s *Server) deleteBucket(rq *request) error {
	if err := checkOSSHeaders(rq); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.bucketLocked(rq.bucket)
	if e != nil {
		return e
	}
	if len(b.objects) > 0 {
		return newError(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty.").
			with("BucketName", rq.bucket)
	}
	if err := s.backend.removeBucket(rq.bucket); err != nil {
		return err
	}
	delete(s.buckets, rq.bucket)
	rq.w.WriteHeader(http.StatusNoContent)
	return nil
}

// getBucketLocation implements GetBucketLocation.
func (s *Server) getBucketLocation(rq *request) error {
	if err := checkOSSHeaders(rq); err != nil {
		return err
	}
	if err := s.requireBucket(rq.bucket); err != nil {
		return err
	}
	return writeXML(rq.w, http.StatusOK, struct {
		XMLName  xml.Name `xml:"LocationConstraint"`
		Location string   `xml:",chardata"`
	}{Location: "oss-" + s.region})
}

// versioningConfiguration is the body of Get/PutBucketVersioning. Status
// is omitted when versioning was never enabled.
type versioningConfiguration struct {
	XMLName xml.Name `xml:"VersioningConfiguration"`
	Status  string   `xml:"Status,omitempty"`
}

// getBucketVersioning implements GetBucketVersioning.
func (s *Server) getBucketVersioning(rq *request) error {
	if err := checkOSSHeaders(rq); err != nil {
		return err
	}
	s.mu.Lock()
	b, e := s.bucketLocked(rq.bucket)
	var status string
	if e == nil {
		status = b.versioning
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	return writeXML(rq.w, http.StatusOK, versioningConfiguration{Status: status})
}

// putBucketVersioning implements PutBucketVersioning. As on OSS, a bucket
// can move between Enabled and Suspended but never back to unversioned
// (use Server.SetVersioning for that).
func (s *Server) putBucketVersioning(rq *request) error {
	if err := checkOSSHeaders(rq); err != nil {
		return err
	}
	raw, err := readBody(rq.r, 64<<10)
	if err != nil {
		return err
	}
	if err := checkContentMD5(rq.r, raw); err != nil {
		return err
	}
	var cfg versioningConfiguration
	if err := xml.Unmarshal(raw, &cfg); err != nil {
		return errMalformedXML("The XML you provided was not well-formed: %v", err)
	}
	if cfg.Status != versioningEnabled && cfg.Status != versioningSuspended {
		return errMalformedXML("Status must be Enabled or Suspended, not %q.", cfg.Status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.bucketLocked(rq.bucket)
	if e != nil {
		return e
	}
	old := b.versioning
	b.versioning = cfg.Status
	if err := s.backend.saveBucket(b); err != nil {
		b.versioning = old
		return err
	}
	rq.w.WriteHeader(http.StatusOK)
	return nil
}

// deleteRequest is DeleteObjects's request body.
type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   string   `xml:"Quiet"`
	Objects []struct {
		Key       *string `xml:"Key"`
		VersionID *string `xml:"VersionId"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName      xml.Name     `xml:"DeleteResult"`
	EncodingType string       `xml:"EncodingType,omitempty"`
	Deleted      []xmlDeleted `xml:"Deleted"`
}

type xmlDeleted struct {
	Key string `xml:"Key"`
}

// deleteObjects implements DeleteObjects (POST /bucket/?delete). Content-MD5
// is required; keys that do not exist are reported deleted, as on OSS.
func (s *Server) deleteObjects(rq *request) error {
	if err := checkOSSHeaders(rq); err != nil {
		return err
	}
	urlEncode := false
	switch enc := rq.query["encoding-type"]; enc {
	case "":
	case "url":
		urlEncode = true
	default:
		return errInvalidArgument("encoding-type", enc, "encoding-type must be url.")
	}
	if rq.r.Header.Get("Content-MD5") == "" {
		return errMissingArgument("Content-MD5")
	}
	raw, err := readBody(rq.r, 2<<20)
	if err != nil {
		return err
	}
	if err := checkContentMD5(rq.r, raw); err != nil {
		return err
	}
	var req deleteRequest
	if err := xml.Unmarshal(raw, &req); err != nil {
		return errMalformedXML("The XML you provided was not well-formed: %v", err)
	}
	quiet := false
	switch strings.TrimSpace(req.Quiet) {
	case "", "false":
	case "true":
		quiet = true
	default:
		return errMalformedXML("Quiet must be true or false.")
	}
	if len(req.Objects) == 0 || len(req.Objects) > maxDeleteObjects {
		return errMalformedXML("A DeleteObjects request must name 1 to %d objects.", maxDeleteObjects)
	}
	keys := make([]string, 0, len(req.Objects))
	for _, o := range req.Objects {
		if o.VersionID != nil {
			return errUnsupported("deleting object versions is not implemented")
		}
		if o.Key == nil || *o.Key == "" {
			return errMalformedXML("Every Object must have a non-empty Key.")
		}
		if e := checkKey(*o.Key); e != nil {
			return e
		}
		keys = append(keys, *o.Key)
	}

	s.mu.Lock()
	b, e := s.bucketLocked(rq.bucket)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	for _, k := range keys {
		if err := s.removeLocked(b, k); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	s.mu.Unlock()

	res := deleteResult{}
	if urlEncode {
		res.EncodingType = "url"
	}
	if !quiet {
		lq := listQuery{urlEncode: urlEncode}
		for _, k := range keys {
			res.Deleted = append(res.Deleted, xmlDeleted{Key: lq.encodeName(k)})
		}
	}
	return writeXML(rq.w, http.StatusOK, res)
}
