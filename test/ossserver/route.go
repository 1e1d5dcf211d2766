package ossserver

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// handlerFunc serves one operation. It returns an *apiError for OSS errors;
// any other error is answered as InternalError.
type handlerFunc func(s *Server, rq *request) error

// operation is one OSS API operation the server routes requests to.
type operation struct {
	// name is the OSS API name, used for stats and fault filtering.
	name   string
	handle handlerFunc
	// params are the query parameters the operation accepts; any other
	// parameter is answered with NotImplemented.
	params []string
}

// checkParams rejects query parameters the operation does not implement.
func (op *operation) checkParams(rq *request) error {
	for k := range rq.query {
		if !slices.Contains(op.params, k) {
			return errUnsupported("query parameter %q is not supported for %s", k, op.name)
		}
	}
	return nil
}

// The operations. Their names are the values accepted in Faults.Ops.
var (
	opListBuckets         = &operation{"ListBuckets", (*Server).listBuckets, []string{"prefix", "marker", "max-keys"}}
	opPutBucket           = &operation{"PutBucket", (*Server).putBucket, nil}
	opDeleteBucket        = &operation{"DeleteBucket", (*Server).deleteBucket, nil}
	opGetBucketLocation   = &operation{"GetBucketLocation", (*Server).getBucketLocation, []string{"location"}}
	opGetBucketVersioning = &operation{"GetBucketVersioning", (*Server).getBucketVersioning, []string{"versioning"}}
	opPutBucketVersioning = &operation{"PutBucketVersioning", (*Server).putBucketVersioning, []string{"versioning"}}
	opListObjects         = &operation{"ListObjects", (*Server).listObjects, []string{
		"prefix", "marker", "max-keys", "delimiter", "encoding-type"}}
	opListObjectsV2 = &operation{"ListObjectsV2", (*Server).listObjectsV2, []string{
		"list-type", "prefix", "delimiter", "max-keys", "continuation-token", "start-after", "fetch-owner", "encoding-type"}}
	opDeleteObjects = &operation{"DeleteObjects", (*Server).deleteObjects, []string{"delete", "encoding-type"}}
	opPutObject     = &operation{"PutObject", (*Server).putObject, nil}
	opCopyObject    = &operation{"CopyObject", (*Server).copyObject, nil}
	opGetObject     = &operation{"GetObject", (*Server).getObject, responseOverrideParams}
	opHeadObject    = &operation{"HeadObject", (*Server).headObject, nil}
	opGetObjectMeta = &operation{"GetObjectMeta", (*Server).getObjectMeta, []string{"objectMeta"}}
	opAppendObject  = &operation{"AppendObject", (*Server).appendObject, []string{"append", "position"}}
	opDeleteObject  = &operation{"DeleteObject", (*Server).deleteObject, nil}
	// opUnsupported stands for every request the server does not implement.
	opUnsupported = &operation{"Unsupported", nil, nil}
)

// allOperations lists the operations by name.
var allOperations = func() map[string]*operation {
	m := map[string]*operation{}
	for _, op := range []*operation{
		opListBuckets, opPutBucket, opDeleteBucket, opGetBucketLocation, opGetBucketVersioning,
		opPutBucketVersioning, opListObjects, opListObjectsV2, opDeleteObjects, opPutObject,
		opCopyObject, opGetObject, opHeadObject, opGetObjectMeta, opAppendObject, opDeleteObject,
		opUnsupported,
	} {
		m[op.name] = op
	}
	return m
}()

// responseOverrideParams are GetObject's response-* parameters.
var responseOverrideParams = []string{
	"response-content-type", "response-content-language", "response-expires",
	"response-cache-control", "response-content-disposition", "response-content-encoding",
}

// queryParams is a parsed query string. A parameter without "=" has the
// empty value; repeated parameters are rejected at parse time.
type queryParams map[string]string

func (q queryParams) has(k string) bool { _, ok := q[k]; return ok }

// parseQuery parses a raw query string the way OSS reads it.
func parseQuery(raw string) (queryParams, *apiError) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return queryParams{}, errInvalidArgument("query", raw, "The query string is malformed: %v", err)
	}
	q := queryParams{}
	for k, v := range vals {
		if len(v) > 1 {
			return q, errInvalidArgument(k, strings.Join(v, ","), "Query parameter %q is repeated.", k)
		}
		q[k] = v[0]
	}
	return q, nil
}

// splitPath splits a path-style request path into bucket and key.
func splitPath(p string) (bucket, key string) {
	p = strings.TrimPrefix(p, "/")
	bucket, key, _ = strings.Cut(p, "/")
	return bucket, key
}

// validBucketName applies the SDK's (and OSS's) bucket naming rules.
func validBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkKey applies OSS's object naming rules.
func checkKey(key string) *apiError {
	switch {
	case len(key) > maxKeyLen:
		return errInvalidObjectName("The object name is longer than %d bytes.", maxKeyLen)
	case !utf8.ValidString(key):
		return errInvalidObjectName("The object name is not valid UTF-8.")
	case strings.HasPrefix(key, "/") || strings.HasPrefix(key, `\`):
		return errInvalidObjectName("The object name must not start with '/' or '\\'.")
	}
	return nil
}

// maxKeyLen is the longest object name OSS accepts, in bytes.
const maxKeyLen = 1023

// route parses the request target and selects its operation. rq.op is set
// even when an error is returned, so that the request can be counted.
func (s *Server) route(rq *request) *apiError {
	r := rq.r
	rq.op = opUnsupported
	rq.bucket, rq.key = splitPath(r.URL.Path)
	q, qerr := parseQuery(r.URL.RawQuery)
	rq.query = q
	if qerr != nil {
		return qerr
	}
	op := selectOperation(r, rq.bucket, rq.key, q)
	if op == nil {
		return errUnsupported("%s on %s is not implemented", r.Method, level(rq.bucket, rq.key))
	}
	for k := range q {
		if isSubResource(k) && !slices.Contains(op.params, k) {
			return errUnsupported("sub-resource %q with %s on %s is not implemented", k, r.Method, level(rq.bucket, rq.key))
		}
	}
	rq.op = op
	if rq.bucket != "" && !validBucketName(rq.bucket) {
		return errInvalidBucketName(rq.bucket)
	}
	if rq.key != "" {
		if e := checkKey(rq.key); e != nil {
			return e
		}
	}
	return nil
}

func level(bucket, key string) string {
	switch {
	case bucket == "":
		return "the service"
	case key == "":
		return "a bucket"
	default:
		return "an object"
	}
}

// selectOperation maps method, target and sub-resource to an operation,
// or nil when the server does not implement it.
func selectOperation(r *http.Request, bucket, key string, q queryParams) *operation {
	switch {
	case bucket == "":
		if r.Method == http.MethodGet {
			return opListBuckets
		}
	case key == "":
		switch r.Method {
		case http.MethodGet:
			switch {
			case q.has("versioning"):
				return opGetBucketVersioning
			case q.has("location"):
				return opGetBucketLocation
			case q.has("list-type"):
				return opListObjectsV2
			default:
				return opListObjects
			}
		case http.MethodPut:
			if q.has("versioning") {
				return opPutBucketVersioning
			}
			return opPutBucket
		case http.MethodPost:
			if q.has("delete") {
				return opDeleteObjects
			}
		case http.MethodDelete:
			return opDeleteBucket
		}
	default:
		switch r.Method {
		case http.MethodGet:
			return opGetObject
		case http.MethodHead:
			if q.has("objectMeta") {
				return opGetObjectMeta
			}
			return opHeadObject
		case http.MethodPut:
			if r.Header.Get(hdrCopySource) != "" {
				return opCopyObject
			}
			return opPutObject
		case http.MethodPost:
			if q.has("append") {
				return opAppendObject
			}
		case http.MethodDelete:
			return opDeleteObject
		}
	}
	return nil
}

// isSubResource reports whether a query parameter names an OSS
// sub-resource, i.e. selects or modifies an operation.
func isSubResource(k string) bool {
	return slices.Contains(signedSubResources, k) || k == "list-type"
}
