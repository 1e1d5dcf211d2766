package callback

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"mediastate/shared/apierr"
	"mediastate/test/corpus"
)

// addSeeds adds every fixture, valid and invalid, to the corpus, with a
// few hand-made edge cases.
func addSeeds(f *testing.F) {
	for _, name := range allFixtures() {
		f.Add(readFixture(f, name+".json"))
	}
	for _, inv := range invalidFixtures {
		f.Add(readFixture(f, inv.file))
	}
	if root, err := corpus.Root("."); err == nil {
		if m, err := corpus.Load(root); err == nil {
			for _, fx := range m.Fixtures {
				f.Add(fx.Body)
			}
		}
	}
	for _, s := range []string{
		`{}`, `[]`, `null`, `{"EventType":"X"}`, `{"EventType":"TranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v","StreamInfos":"[{\"Fps\":\"25\"}]"}`,
		`{"EventType":"MediaBaseChangeComplete","EventTime":"2022-06-23T13:11:33Z","MessageBody":"{\"MediaId\":\"m\",\"OperateMode\":\"create\",\"MediaContent\":\"{\\\"Title\\\":{\\\"NewValue\\\":1}}\"}"}`,
		`{"domain":"d","app":"a","stream":"s","uri":"u","stop_time":"1.5"}`,
		"{\"a\":\"\xff\\ud800\\u00ff\"}",
	} {
		f.Add([]byte(s))
	}
}

// stableCodes are the codes Decode may return.
var stableCodes = []apierr.Code{apierr.MalformedJSON, apierr.MissingField, apierr.InvalidField, apierr.InvalidId, apierr.PayloadTooLarge,
	apierr.NestingTooDeep, apierr.DuplicateKey}

// FuzzDecode checks that no input panics, that every error is a permanent
// *apierr.Error with a stable code naming a field, and that every success
// satisfies the Event invariants.
func FuzzDecode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Decode(body)
		if err != nil {
			var e *apierr.Error
			if !errors.As(err, &e) || !slices.Contains(stableCodes, e.Code) || !apierr.IsPermanent(err) || e.Field == "" {
				t.Fatalf("Decode error %v (%T) is not a permanent apierr with a stable code and a field", err, err)
			}
			return
		}
		checkEvent(t, body, ev)
		again, err := Decode(body)
		if err != nil || !reflect.DeepEqual(again, ev) {
			t.Fatalf("second Decode differs: %v\n%+v\n%+v", err, again, ev)
		}
		roundTrip(t, ev)
	})
}

// checkEvent asserts the invariants of a decoded event.
func checkEvent(t *testing.T, body []byte, ev *Event) {
	t.Helper()
	if !bytes.Equal(ev.Raw, body) {
		t.Fatalf("Raw differs from the body")
	}
	id, err := Identity(body)
	if err != nil || ev.EventID != id || !strings.HasPrefix(id, IdentityPrefix) {
		t.Fatalf("EventID %q, Identity %q, %v", ev.EventID, id, err)
	}
	if reason := idProblem(ev.Type); reason != "" {
		t.Fatalf("Type %q %s", ev.Type, reason)
	}
	if !ev.Time.IsZero() && ev.Time.Location() != time.UTC {
		t.Fatalf("Time %v is not UTC", ev.Time)
	}
	if ev.Status != StatusSuccess && ev.Status != StatusFail && ev.Status != StatusNone {
		t.Fatalf("Status %q", ev.Status)
	}
	for _, raw := range []json.RawMessage{ev.UserData, ev.Extend} {
		if raw != nil && !json.Valid(raw) {
			t.Fatalf("UserData or Extend %q is not JSON", raw)
		}
	}
	switch ev.Source {
	case SourceLive:
		parts := strings.Split(ev.ID, "/")
		if ev.Family != FamilyLive || ev.IDField != liveIDField || len(parts) != 3 || payloadCount(ev) != 1 {
			t.Fatalf("Live event %+v", ev)
		}
		for i, p := range parts {
			if err := ValidateID([]string{"domain", "app", "stream"}[i], p); err != nil {
				t.Fatalf("Live id part: %v", err)
			}
		}
		switch {
		case ev.LiveFile != nil:
			if ev.Type != liveFileCreated || ev.LiveFile.URI == "" || ev.LiveFile.StopTime.IsZero() || !ev.Time.Equal(ev.LiveFile.StopTime) {
				t.Fatalf("Live file event %+v %+v", ev, ev.LiveFile)
			}
		case ev.LiveStatus.Event != ev.Type:
			t.Fatalf("Live status event %+v %+v", ev, ev.LiveStatus)
		}
	case SourceVOD, SourceIMS:
		if ev.Family != FamilyOf(ev.Type) {
			t.Fatalf("Family %q for type %q", ev.Family, ev.Type)
		}
		spec := LookupType(ev.Type)
		switch {
		case spec == nil || spec.Payload == nil:
			if payloadCount(ev) != 0 {
				t.Fatalf("type without payload decoder with a payload: %+v", ev)
			}
			if spec == nil && ev.ID == "" && ev.IDField == "" {
				return
			}
		case payloadCount(ev) != 1:
			t.Fatalf("catalogued type without exactly one payload: %+v", ev)
		}
		if spec != nil && ev.Time.IsZero() {
			t.Fatalf("catalogued type without time: %+v", ev)
		}
		if ev.IDKind == IDKindJob && (ev.JobID != ev.ID || spec == nil || !spec.JobKeyed) {
			t.Fatalf("job-keyed event %+v", ev)
		}
		for _, n := range ev.Uninterpreted {
			if n.Field == "" || n.Value != nil && !json.Valid(n.Value) {
				t.Fatalf("note %+v", n)
			}
		}
		if err := ValidateID(ev.IDField, ev.ID); err != nil {
			t.Fatalf("ID: %v", err)
		}
	default:
		t.Fatalf("Source %q", ev.Source)
	}
}

// surrogateEscape matches escapes of UTF-16 surrogates, which encoding/json
// decodes lossily (so FuzzIdentity cannot re-serialise them faithfully).
var surrogateEscape = regexp.MustCompile(`\\u[dD][89a-fA-F]`)

// FuzzIdentity checks that re-serialising a body with other key order,
// whitespace and string escapes keeps its identity, and that the canonical
// form keeps the body's value.
func FuzzIdentity(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		id, err := Identity(body)
		if err != nil {
			if !apierr.Is(err, apierr.MalformedJSON) && !apierr.Is(err, apierr.PayloadTooLarge) &&
				!apierr.Is(err, apierr.NestingTooDeep) && !apierr.Is(err, apierr.DuplicateKey) {
				t.Fatalf("Identity error %v", err)
			}
			return
		}
		if again, _ := Identity(body); again != id {
			t.Fatalf("Identity is not deterministic")
		}
		canon, err := canonicalJSON(body)
		if err != nil || !json.Valid(canon) {
			t.Fatalf("canonical form %q is not JSON: %v", canon, err)
		}
		if !utf8.Valid(body) || surrogateEscape.Match(body) {
			return
		}
		if cid, _ := Identity(canon); cid != id {
			t.Fatalf("the canonical form %s has another identity", canon)
		}
		// The canonical form has the body's value.
		want, err1 := decodeJSON(body)
		got, err2 := decodeJSON(canon)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("canonical form %s changes the value of %s: %v %v", canon, body, err1, err2)
		}
		// Re-serialised differently, the body keeps its identity.
		tree, err := parseOrdered(body)
		if err != nil {
			t.Fatalf("parseOrdered: %v", err)
		}
		var buf bytes.Buffer
		tree.write(&buf, 0)
		if rid, err := Identity(buf.Bytes()); err != nil || rid != id {
			t.Fatalf("re-serialised %s has identity %q (%v), original %s has %q", buf.Bytes(), rid, err, body, id)
		}
	})
}

// jnode is a JSON value that keeps the order of object members.
type jnode struct {
	kind    byte // 'o', 'a', 's', 'n', 'l' (literal true/false/null)
	text    string
	keys    []string
	members []*jnode
}

// parseOrdered parses b with encoding/json's tokenizer.
func parseOrdered(b []byte) (*jnode, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	n, err := parseNode(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err == nil {
		return nil, errors.New("trailing data")
	}
	return n, nil
}

func parseNode(d *json.Decoder) (*jnode, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		n := &jnode{kind: 'a'}
		if v == '{' {
			n.kind = 'o'
		}
		for d.More() {
			if n.kind == 'o' {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
			}
			m, err := parseNode(d)
			if err != nil {
				return nil, err
			}
			n.members = append(n.members, m)
		}
		if _, err := d.Token(); err != nil {
			return nil, err
		}
		return n, nil
	case string:
		return &jnode{kind: 's', text: v}, nil
	case json.Number:
		return &jnode{kind: 'n', text: v.String()}, nil
	case bool:
		return &jnode{kind: 'l', text: fmt.Sprint(v)}, nil
	case nil:
		return &jnode{kind: 'l', text: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// write serialises n with members sorted by descending key (equal keys keep
// their order), newlines and indentation, and every string escaped
// differently from the input's likely form: '/' as \/, non-ASCII as
// \uXXXX, control characters in upper-case hex.
func (n *jnode) write(buf *bytes.Buffer, depth int) {
	indent := "\n" + strings.Repeat("\t", depth+1)
	switch n.kind {
	case 'o':
		order := make([]int, len(n.members))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(n.keys[b], n.keys[a]) })
		buf.WriteString("{")
		for j, i := range order {
			if j > 0 {
				buf.WriteString(" ,")
			}
			buf.WriteString(indent)
			writeEscaped(buf, n.keys[i])
			buf.WriteString(" : ")
			n.members[i].write(buf, depth+1)
		}
		buf.WriteString("\n}")
	case 'a':
		buf.WriteString("[ ")
		for i, m := range n.members {
			if i > 0 {
				buf.WriteString(",\r\n ")
			}
			m.write(buf, depth+1)
		}
		buf.WriteString(" ]")
	case 's':
		writeEscaped(buf, n.text)
	default:
		buf.WriteString(n.text)
	}
}

func writeEscaped(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			buf.WriteString(`\"`)
		case r == '\\':
			buf.WriteString(`\\`)
		case r == '/':
			buf.WriteString(`\/`)
		case r < 0x20:
			fmt.Fprintf(buf, `\u%04X`, r)
		case r < 0x80:
			buf.WriteRune(r)
		case r > 0xffff:
			hi, lo := utf16.EncodeRune(r)
			fmt.Fprintf(buf, `\u%04X\u%04x`, hi, lo)
		default:
			fmt.Fprintf(buf, `\u%04x`, r)
		}
	}
	buf.WriteByte('"')
}
