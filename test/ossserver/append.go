package ossserver

import (
	"hash/crc64"
	"net/http"
	"strconv"
)

// appendObject implements AppendObject: POST /bucket/key?append&position=N.
//
// The position must equal the object's current length; 0 creates an
// Appendable object when the key is absent. Normal objects cannot be
// appended to. Metadata and Content-Type are taken from the append that
// creates the object and ignored afterwards, as OSS does.
func (s *Server) appendObject(rq *request) error {
	r := rq.r
	// OSS documents no conditional AppendObject; refuse rather than ignore.
	if err := rejectConditionalWrite(r); err != nil {
		return err
	}
	if err := checkOSSHeaders(rq, hdrStorageClass); err != nil {
		return err
	}
	posStr, ok := rq.query["position"]
	if !ok {
		return errMissingArgument("position")
	}
	pos, perr := strconv.ParseInt(posStr, 10, 64)
	if perr != nil || pos < 0 {
		return errInvalidArgument("position", posStr, "The position must be a non-negative integer.")
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

	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.bucketLocked(rq.bucket)
	if e != nil {
		return e
	}
	old := b.objects[rq.key]
	var res *objectMeta
	switch {
	case old == nil:
		if pos != 0 {
			return errPositionNotEqualToLength(0)
		}
		m.Key = rq.key
		m.Type = typeAppendable
		m.Size = int64(len(data))
		m.CRC64 = crc64.Checksum(data, crcTable)
		m.ETag = appendETag(m.CRC64, m.Size)
		m.LastModified = s.now().UTC()
		m.VersionID = newVersionID(b)
		if err := s.commitNew(b, m, data, nil); err != nil {
			return err
		}
		res = m
	case old.Type != typeAppendable:
		return errObjectNotAppendable()
	case pos != old.Size:
		return errPositionNotEqualToLength(old.Size)
	case old.Size+int64(len(data)) > maxObjectSize:
		return errEntityTooLarge(maxObjectSize)
	default:
		if err := s.backend.appendBody(b.name, old.Blob, old.Size, data); err != nil {
			return err
		}
		upd := old.clone()
		upd.Size += int64(len(data))
		upd.CRC64 = crc64.Update(old.CRC64, crcTable, data)
		upd.ETag = appendETag(upd.CRC64, upd.Size)
		upd.LastModified = s.now().UTC()
		if err := s.backend.saveMeta(b.name, upd); err != nil {
			if terr := s.backend.truncateBody(b.name, old.Blob, old.Size); terr != nil {
				s.logf("ossserver: undoing append to %q: %v", old.Key, terr)
			}
			return err
		}
		b.put(upd)
		res = upd
	}
	setWriteHeaders(rq.w, res)
	rq.w.Header().Set(hdrNextAppendPosition, strconv.FormatInt(res.Size, 10))
	rq.w.Header().Set("Content-Length", "0")
	rq.w.WriteHeader(http.StatusOK)
	return nil
}
