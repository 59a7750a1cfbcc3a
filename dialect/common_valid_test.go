package dialect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// validCases are inputs on which validJSON must agree with encoding/json:
// shard answers are untrusted, and a hit that reaches the client must be
// valid JSON.
var validCases = []string{
	``, ` `, `{}`, `[]`, `{"a":1}`, ` {"a" : [1, 2.5e-3, -0, true, false, null, "x"]} `,
	`{"a":}`, `{"a"}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a":1 "b":2}`, `[1 2]`, `{"a":1}}`, `{"a":1}x`,
	`01`, `-`, `-01`, `1.`, `.5`, `1e`, `1e+`, `1E-7`, `2.5E+10`, `+1`, `NaN`, `Infinity`, `0x10`, `1.5.5`,
	`tru`, `true`, `nul`, `nulll`, `falsey`, `"\u00e9"`, `"\uD83D\uDE00"`, `"\u12G4"`, `"\x"`, `"\/\b\f\n\r\t\\\""`,
	"\"a\tb\"", "\"a\nb\"", "\"a\x00b\"", "\"\x1f\"", "\"\x7f\"", "\"\xff\xfe\"", "\"é ü 日本\"",
	`"unterminated`, `"ends with backslash\`, `{"a":"b\"}`, `[[[[[]]]]]`, `[[[[[]]]]`, `[{]}`, `{[]}`, `{"a":[}`,
	`{"k\"ey":1}`, `{"k\u0041":1}`, `{1:2}`, `{"a":1,"a":2}`, `"` + strings.Repeat("abcdefgh", 20) + `"`,
	`"` + strings.Repeat("abcdefg\\", 20) + `"`, `"` + strings.Repeat("abcdefg\"", 3), "\"" + strings.Repeat("x", 15) + "\x01\"",
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001), strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	"\t\n\r {\"a\" \t:\n1\r}\n",
}

func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range validCases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%.60q) = %v, encoding/json.Valid says %v", c, got, want)
		}
	}
	for _, name := range []string{"meilisearch_response.json", "elasticsearch_response.json"} {
		b := fixture(t, name)
		if !validJSON(b) {
			t.Errorf("fixture %s: validJSON = false", name)
		}
	}
}

// TestTopMembersRejectsWhatJSONRejects: a shard answer that encoding/json
// would refuse is refused, wherever the fault is (not only in the members
// that are read).
func TestTopMembersRejectsWhatJSONRejects(t *testing.T) {
	for _, c := range []string{
		`{"hits":[],"other":[1,]}`, `{"hits":[{"id":"a","t":"x` + "\x01" + `"}]}`, `{"hits":[]} trailing`,
		`{"hits":[],}`, `{"hits":[{"id":1}]`, `<html></html>`, `{"hits":[{"id":"a"}],"n":01}`,
	} {
		if _, err := topMembers([]byte(c), nil, "hits"); err == nil {
			t.Errorf("topMembers(%q) accepted invalid JSON", c)
		}
	}
	v, err := topMembers([]byte(` { "x" : 1 , "h\u0069ts" : [ {"id":"a"} ] , "hits":[] } `), nil, "hits", "x", "absent")
	if err != nil {
		t.Fatal(err)
	}
	if string(v[0]) != `[ {"id":"a"} ]` || string(v[1]) != "1" || v[2] != nil {
		t.Errorf("topMembers = %q, want the first hits (escaped key), x = 1, absent = nil", v)
	}
}

// FuzzValidJSON checks validJSON against encoding/json.Valid on any input,
// and skipValue (which trusts validated input) against validValue's end.
func FuzzValidJSON(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, want := validJSON(b), json.Valid(b)
		if got != want {
			t.Fatalf("validJSON(%.200q) = %v, encoding/json.Valid says %v", b, got, want)
		}
		if !got {
			return
		}
		i := skipSpace(b, 0)
		end, err := skipValue(b, i)
		if err != nil || !bytes.Equal(bytes.TrimSpace(b[end:]), nil) {
			t.Fatalf("skipValue on valid %.200q ended at %d (%v), want the end of the value", b, end, err)
		}
	})
}

// benchAnswer is a Meilisearch answer shaped like the load benchmark's:
// ten Debian packages with a long description each, in lines of about 70
// characters (escaped newlines, as encoding/json writes them) with a quoted
// word now and then.
func benchAnswer() []byte {
	var b bytes.Buffer
	b.WriteString(`{"hits":[`)
	for i := range 10 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"pkg-%d","title":"network monitoring tool %d","section":"net","tags":["role::program","use::monitor"],`+
			`"description":"%s","_rankingScore":0.%d}`, i, i, strings.Repeat(`monitors hosts and services over the network, alerts by mail and\n`, 8)+
			`sends \"reports\" on request.`, 9-i)
	}
	b.WriteString(`],"query":"network monitoring tool","processingTimeMs":1,"limit":10,"offset":0,"estimatedTotalHits":42}`)
	return b.Bytes()
}

func BenchmarkValidate(b *testing.B) {
	for _, c := range []struct {
		name string
		body []byte
	}{{"fixture", fixture(b, "meilisearch_response.json")}, {"long-descriptions", benchAnswer()}} {
		b.Run(c.name+"/encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			for b.Loop() {
				_ = json.Valid(c.body)
			}
		})
		b.Run(c.name+"/validJSON", func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			for b.Loop() {
				_ = validJSON(c.body)
			}
		})
	}
}

// BenchmarkMeiliDecodeResponse decodes an answer given with no spare
// capacity (exact) and with as much spare capacity as the answer (spare),
// as caddyfederate's shard writer gives it: then the documents cut of their
// ranking metadata need no buffer of their own.
func BenchmarkMeiliDecodeResponse(b *testing.B) {
	body := benchAnswer()
	d := meilisearch{}
	spare := make([]byte, len(body), 2*len(body))
	copy(spare, body)
	for _, c := range []struct {
		name string
		body []byte
	}{{"exact", body[:len(body):len(body)]}, {"spare", spare}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.DecodeResponse(c.body, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
