// Package ossserver is an Alibaba Cloud OSS protocol server for tests.
//
// It listens on loopback and speaks enough of the OSS REST API for the real
// github.com/aliyun/aliyun-oss-go-sdk/oss client to run against it with an IP
// endpoint (http://127.0.0.1:PORT, path-style URLs /bucket/key). It is meant
// to be at least as strict as OSS wherever the product depends on OSS
// semantics, so that tests passing here do not pass by accident:
//
//   - PutObject and CopyObject refuse If-Match, If-None-Match,
//     If-Modified-Since and If-Unmodified-Since with 400 NotImplemented, as
//     OSS does; x-oss-forbid-overwrite: true answers 409 FileAlreadyExists
//     when the key exists, and is ignored when the bucket's versioning is
//     Enabled or Suspended.
//   - AppendObject enforces position == current length (409
//     PositionNotEqualToLength with x-oss-next-append-position), refuses
//     Normal objects (409 ObjectNotAppendable) and returns the whole
//     object's CRC-64/ECMA.
//   - GET and HEAD honour If-Match, If-None-Match, If-Modified-Since,
//     If-Unmodified-Since and single byte ranges.
//   - Every request is authenticated with signature V1 or V4 exactly as the
//     SDK computes it, including STS security tokens and a 15 minute clock
//     skew limit.
//   - Every check-then-write runs under one lock, so conditional writes are
//     linearisable, and reads and lists are strongly consistent.
//   - Operations, sub-resources, query parameters and x-oss-* headers that
//     the server does not implement are answered with NotImplemented, never
//     silently ignored.
//
// Objects live in memory, or on disk under Options.Dir, where they survive a
// restart. Faults (latency, 503, 500, connection resets and lost responses)
// can be injected at run time with SetFaults or over the unauthenticated
// admin endpoint under /-/, and requests are counted per operation.
package ossserver
