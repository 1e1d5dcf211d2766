package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"mediastate/shared/callback"
)

// maxMs is the largest receive time a key can hold (year 2286), in Unix ms.
const maxMs = 9999999999999

// invDigits is the width of the inverted time in keys.
const invDigits = 13

// The key name suffixes of the occurrence objects.
const (
	claimSuffix  = ".claim"
	recordSuffix = ".json"
)

// keys builds the keys of one project prefix.
type keys struct {
	prefix string // "<project prefix>live/records/"
}

// domain is the key prefix of everything of one domain.
func (k keys) domain(domain string) string { return k.prefix + domain + "/" }

// occurrences is the prefix of the occurrence objects of one body.
func (k keys) occurrences(domain, eventID string) string {
	return k.domain(domain) + "r/" + eventID + "/"
}

func seqName(seq uint64) string { return fmt.Sprintf("%016x", ^seq) }

func (k keys) claim(domain, eventID string, seq uint64) string {
	return k.occurrences(domain, eventID) + seqName(seq) + claimSuffix
}

func (k keys) record(domain, eventID string, seq uint64) string {
	return k.occurrences(domain, eventID) + seqName(seq) + recordSuffix
}

// message is the key of the marker of a queue message that delivered a
// body: the message id is hashed, so that any id makes a safe key segment.
// Markers sort after the occurrence objects (hex digits), so listing the
// newest occurrence is not disturbed.
func (k keys) message(domain, eventID, messageID string) string {
	h := sha256.Sum256([]byte(messageID))
	return k.occurrences(domain, eventID) + "m/" + hex.EncodeToString(h[:16])
}

// parseOccurrence returns the seq of an occurrence object's key and whether
// it is a claim.
func parseOccurrence(prefix, key string) (seq uint64, claim bool, ok bool) {
	name, found := strings.CutPrefix(key, prefix)
	if !found || len(name) < 16 {
		return 0, false, false
	}
	switch name[16:] {
	case claimSuffix:
		claim = true
	case recordSuffix:
	default:
		return 0, false, false
	}
	inv, err := strconv.ParseUint(name[:16], 16, 64)
	if err != nil || inv == ^uint64(0) {
		return 0, false, false
	}
	return ^inv, claim, true
}

// timeIndex is the prefix of the domain's time index.
func (k keys) timeIndex(domain string) string { return k.domain(domain) + "t/" }

// streamIndex is the prefix of one stream's time index.
func (k keys) streamIndex(domain, app, stream string) string {
	return k.domain(domain) + "s/" + app + "/" + stream + "/"
}

func inv(t time.Time) string { return fmt.Sprintf("%0*d", invDigits, maxMs-t.UnixMilli()) }

func resultLetter(result string) string {
	if result == ResultSuccess {
		return "s"
	}
	return "f"
}

// segment is a name as it appears in an index key: itself when it is a
// valid id, otherwise empty (no filter can name it).
func segment(name string) string {
	if callback.ValidateID("name", name) != nil {
		return ""
	}
	return name
}

// indexKeys returns the index entries of a stored record.
func (k keys) indexKeys(s *Stored) []string {
	r := &s.Record
	t, res := inv(s.ReceivedAt()), resultLetter(r.NotifyResult)
	leaf := s.EventID + "." + strconv.FormatUint(s.Seq, 10)
	app, stream := segment(r.AppName), segment(r.StreamName)
	out := []string{k.timeIndex(r.DomainName) + t + "/" + res + "/" + app + "/" + stream + "/" + leaf}
	if app != "" && stream != "" {
		out = append(out, k.streamIndex(r.DomainName, app, stream)+t+"/"+res+"/"+leaf)
	}
	return out
}

// entry is a parsed index key.
type entry struct {
	ms          int64 // receive time, Unix ms
	success     bool
	app, stream string // only from the domain index
	eventID     string
	seq         uint64
}

// parseEntry parses the part of an index key after its index prefix:
// "<inv>/<s|f>/<app>/<stream>/<eventId>.<seq>" (withNames) or
// "<inv>/<s|f>/<eventId>.<seq>".
func parseEntry(rest string, withNames bool) (entry, bool) {
	parts := strings.Split(rest, "/")
	want := 3
	if withNames {
		want = 5
	}
	if len(parts) != want || len(parts[0]) != invDigits || (parts[1] != "s" && parts[1] != "f") {
		return entry{}, false
	}
	n, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || n < 0 {
		return entry{}, false
	}
	e := entry{ms: maxMs - n, success: parts[1] == "s"}
	if withNames {
		e.app, e.stream = parts[2], parts[3]
	}
	leaf := parts[want-1]
	dot := strings.LastIndexByte(leaf, '.')
	if dot <= 0 {
		return entry{}, false
	}
	e.eventID = leaf[:dot]
	if e.seq, err = strconv.ParseUint(leaf[dot+1:], 10, 64); err != nil || e.seq == 0 {
		return entry{}, false
	}
	return e, true
}

// RefusedID is the occurrence id of a delivery with content id eventID
// that was refused before processing: a trusted delivery whose envelope or
// body was unusable has its occurrences in this namespace of its own, so
// that it cannot take over a processed callback's record or receive time.
func RefusedID(eventID string) string { return "u" + eventID }
