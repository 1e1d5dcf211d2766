package callback

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"mediastate/shared/apierr"
)

// TestIdentityDefinition recomputes the documented definition by hand.
func TestIdentityDefinition(t *testing.T) {
	body := []byte(" {\"b\": [1, 2.0, \"x\"],\n \"a\": {\"d\": null, \"c\": true}} ")
	const canon = `{"a":{"c":true,"d":null},"b":[1,2.0,"x"]}`
	sum := sha256.Sum256([]byte("v1\n" + canon))
	want := "e1-" + hex.EncodeToString(sum[:16])
	got, err := Identity(body)
	if err != nil {
		t.Fatal(err)
	}
	if got != want || len(got) != 35 || !strings.HasPrefix(got, IdentityPrefix) {
		t.Fatalf("Identity = %q, want %q", got, want)
	}
}

func TestCanonicalJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{}`, `{}`},
		{` [ ] `, `[]`},
		{`{"b":1,"a":2}`, `{"a":2,"b":1}`},
		{`{"a":1,"a":2}`, `{"a":1,"a":2}`},
		{`{"a":2,"a":1}`, `{"a":2,"a":1}`},
		{`{"b":{"y":1,"x":[{"q":1,"p":2}]},"a":0}`, `{"a":0,"b":{"x":[{"p":2,"q":1}],"y":1}}`},
		{`{"ab":1,"a":2,"a!":3}`, `{"a":2,"a!":3,"ab":1}`},
		{`1.0`, `1.0`},
		{`-0`, `-0`},
		{`1E+2`, `1E+2`},
		{`"\u00e9\u00E9é"`, `"ééé"`},
		{`"\/\b\f\n\r\t\"\\"`, `"/\u0008\u000c\u000a\u000d\u0009\"\\"`},
		{`"\u0000\u001f\u007f"`, "\"\\u0000\\u001f\x7f\""},
		{`"\ud83d\ude00😀"`, `"😀😀"`},
		{`"\ud83d"`, `"\ud83d"`},
		{`"\ude00\ud83d"`, `"\ude00\ud83d"`},
		{`"\ud83dx"`, `"\ud83dx"`},
		{"\"\xff\xfe\"", `"\u00ff\u00fe"`},
		{`"ÿ\u00ff"`, `"ÿÿ"`},
		{`"\uFFFD` + "\xef\xbf\xbd\"", "\"\xef\xbf\xbd\xef\xbf\xbd\""},
		{`{"k\u0041":1,"kA":2}`, `{"kA":1,"kA":2}`},
		{`[true,false,null]`, `[true,false,null]`},
	}
	for _, tc := range tests {
		got, err := canonicalJSON([]byte(tc.in))
		if err != nil {
			t.Errorf("canonicalJSON(%q): %v", tc.in, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("canonicalJSON(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestIdentitySame lists deliveries of one callback that must share an id.
func TestIdentitySame(t *testing.T) {
	base := `{"EventType":"FileUploadComplete","UserId":1833220977560000,"EventTime":"2022-07-15T08:48:14Z","MessageBody":{"Status":"Success","MediaId":"c321b3a0041a71eda1590674a2ce****","Size":"5510872","UserData":"{\"a\":1}"}}`
	same := []string{
		base,
		"\n" + strings.ReplaceAll(base, ",", " ,\n\t") + "\r\n",
		`{"MessageBody":{"UserData":"{\"a\":1}","Size":"5510872","MediaId":"c321b3a0041a71eda1590674a2ce****","Status":"Success"},"EventTime":"2022-07-15T08:48:14Z","UserId":1833220977560000,"EventType":"FileUploadComplete"}`,
		strings.Replace(base, `"Success"`, `"\u0053uccess"`, 1),
		strings.Replace(base, `"2022-07-15T08:48:14Z"`, `"2022-07-15T08:48:14\u005a"`, 1),
		strings.Replace(base, `"EventType"`, `"Event\u0054ype"`, 1),
	}
	want, err := Identity([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range same {
		if got, err := Identity([]byte(b)); err != nil || got != want {
			t.Errorf("Identity(%s) = %q, %v; want %q", b, got, err, want)
		}
	}
}

// TestIdentityDifferent lists contents that must not share an id.
func TestIdentityDifferent(t *testing.T) {
	bodies := []string{
		`{"Size":"5510872"}`,
		`{"Size":5510872}`,
		`{"Size":5510872.0}`,
		`{"Size":5.510872e6}`,
		`{"Size":"5510873"}`,
		`{"size":"5510872"}`,
		`{"Size":"5510872","x":null}`,
		`{"Size":"5510872","Size":"5510872"}`,
		`{"Size":"5510872 "}`,
		`{"Status":"success"}`,
		`{"Status":"Success"}`,
		`{"a":[1,2]}`,
		`{"a":[2,1]}`,
		`{"a":{"b":1}}`,
		`{"a":"{\"b\":1}"}`,
		`{"a":1,"b":2}`,
		`{"a":2,"b":1}`,
		`{"a":2,"a":1}`,
		`{"a":1,"a":2}`,
		`{"a":1}`,
		`{"a":"1"}`,
		`{"a":true}`,
		`{"a":"true"}`,
		`{"a":null}`,
		`{"a":""}`,
		`{}`,
		`[]`,
		`{"a":"\u00ff"}`,
		"{\"a\":\"\xff\"}",
		`{"a":"\ud800"}`,
		"{\"a\":\"\xed\xa0\x80\"}",
		`{"a":"\\ud800"}`,
		`{"a":"\u0000"}`,
		`{"a":"\\u0000"}`,
		`{"a":"b","c":"d"}`,
		`{"a":"b\",\"c\":\"d"}`,
		`{"a:1":2}`,
		`{"a":"1:2"}`,
	}
	seen := map[string]string{}
	for _, b := range bodies {
		id, err := Identity([]byte(b))
		if err != nil {
			t.Fatalf("Identity(%s): %v", b, err)
		}
		if prev, dup := seen[id]; dup {
			t.Errorf("%s and %s share the identity %s", prev, b, id)
		}
		seen[id] = b
	}
}

func TestIdentityErrors(t *testing.T) {
	for _, b := range []string{``, `{`, `{"a":1,}`, `{'a':1}`, `nul`, "\xef\xbb\xbf{}", `{"a":1} {}`} {
		if _, err := Identity([]byte(b)); !apierr.Is(err, apierr.MalformedJSON) {
			t.Errorf("Identity(%q) error = %v, want MalformedJSON", b, err)
		}
	}
	// Any JSON value has an identity.
	for _, b := range []string{`1`, `"x"`, `null`, `[{}]`} {
		if id, err := Identity([]byte(b)); err != nil || id == "" {
			t.Errorf("Identity(%s) = %q, %v", b, id, err)
		}
	}
}

// TestDecodeEventIDStable checks that a redelivery with other formatting
// gets the same EventID, and a different event another one.
func TestDecodeEventIDStable(t *testing.T) {
	a := mustDecode(t, `{"EventType":"TranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v","Status":"success"}`)
	b := mustDecode(t, "{ \"Status\" : \"success\",\n \"VideoId\" : \"v\", \"EventTime\":\"2017-03-20T07:49:17Z\",\"EventType\":\"TranscodeComplete\" }")
	c := mustDecode(t, `{"EventType":"TranscodeComplete","EventTime":"2017-03-20T07:49:18Z","VideoId":"v","Status":"success"}`)
	if a.EventID != b.EventID {
		t.Errorf("redelivery got a new EventID: %s %s", a.EventID, b.EventID)
	}
	if a.EventID == c.EventID {
		t.Errorf("different events share EventID %s", a.EventID)
	}
}

// TestIdentityRefusesAmbiguousBodies: keys the decoder cannot tell apart,
// and nesting deeper than MaxDepth, are refused with their own codes, by
// Identity and Decode alike, whatever the member order.
func TestIdentityRefusesAmbiguousBodies(t *testing.T) {
	deep := strings.Repeat(`{"a":`, MaxDepth) + `1` + strings.Repeat(`}`, MaxDepth)
	tooDeep := `{"EventType":"X","x":` + strings.Repeat(`[`, MaxDepth) + strings.Repeat(`]`, MaxDepth) + `}`
	for _, tc := range []struct {
		name, body string
		code       apierr.Code
	}{
		{"case pair", `{"EventType":"FileUploadComplete","EventTime":"2024-01-01T00:00:00Z","VideoId":"v1","Status":"success","status":"fail"}`, apierr.DuplicateKey},
		{"case pair swapped", `{"EventType":"FileUploadComplete","EventTime":"2024-01-01T00:00:00Z","VideoId":"v1","status":"fail","Status":"success"}`, apierr.DuplicateKey},
		{"nested case pair", `{"EventType":"X","MessageBody":{"MediaId":"a","mediaid":"b"}}`, apierr.DuplicateKey},
		{"kelvin sign folds to k", "{\"EventType\":\"X\",\"\u212aey\":1,\"key\":2}", apierr.DuplicateKey},
		{"too deep", tooDeep, apierr.NestingTooDeep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Identity([]byte(tc.body)); apierr.CodeOf(err) != tc.code {
				t.Errorf("Identity: %v, want %s", err, tc.code)
			}
			if _, err := Decode([]byte(tc.body)); apierr.CodeOf(err) != tc.code {
				t.Errorf("Decode: %v, want %s", err, tc.code)
			}
		})
	}
	if _, err := Identity([]byte(deep)); err != nil {
		t.Errorf("Identity of a body exactly MaxDepth deep: %v", err)
	}
	if _, err := Identity([]byte(`{"a":1,"a":2}`)); err != nil {
		t.Errorf("exact duplicates are kept (their order is part of the identity): %v", err)
	}
}
