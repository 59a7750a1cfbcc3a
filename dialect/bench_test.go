package dialect

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/merge"
)

// answer100 builds a 100-hit shard answer with documents of ~400 bytes.
func answer100(dialect string) []byte {
	var b strings.Builder
	doc := func(i int) string {
		return fmt.Sprintf(`{"id":"doc-%d","title":"Title number %d","overview":"%s","genres":["Drama","Crime"],"year":%d,"cast":[{"name":"A","role":"B"},{"name":"C","role":"D"}]}`,
			i, i, strings.Repeat("lorem ipsum dolor sit amet ", 8), 1950+i%70)
	}
	switch dialect {
	case "meilisearch":
		b.WriteString(`{"hits":[`)
		for i := range 100 {
			if i > 0 {
				b.WriteByte(',')
			}
			d := doc(i)
			fmt.Fprintf(&b, `%s,"_rankingScore":%g}`, d[:len(d)-1], 1-float64(i)/200)
		}
		b.WriteString(`],"query":"x","processingTimeMs":3,"limit":100,"offset":0,"estimatedTotalHits":5000,"facetDistribution":{"genres":{"Drama":100,"Crime":100}}}`)
	case "elasticsearch":
		b.WriteString(`{"took":3,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},"hits":{"total":{"value":5000,"relation":"eq"},"max_score":9.5,"hits":[`)
		for i := range 100 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"_index":"movies","_id":"doc-%d","_score":%g,"_source":%s}`, i, 9.5-float64(i)/20, doc(i))
		}
		b.WriteString(`]},"aggregations":{"genres":{"doc_count_error_upper_bound":0,"sum_other_doc_count":0,"buckets":[{"key":"Drama","doc_count":100}]}}}`)
	case "federate":
		b.WriteString(`{"hits":[`)
		for i := range 100 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"doc-%d","score":%g,"shard":"a","rank":%d,"doc":%s}`, i, 1/float64(61+i), i+1, doc(i))
		}
		b.WriteString(`],"total":5000,"total_relation":"eq","offset":0,"limit":100,"facets":{},"shards":{},"complete":true,"took_ms":3}`)
	}
	return []byte(b.String())
}

func BenchmarkDecodeResponse(b *testing.B) {
	for _, name := range []string{"meilisearch", "elasticsearch", "federate"} {
		b.Run(name, func(b *testing.B) {
			d, _ := Lookup(name)
			body := answer100(name)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				l, err := d.DecodeResponse(body, "")
				if err != nil || len(l.Hits) != 100 {
					b.Fatal(err, len(l.Hits))
				}
			}
		})
	}
}

func BenchmarkEncodeResponse(b *testing.B) {
	for _, name := range []string{"meilisearch", "elasticsearch", "federate"} {
		b.Run(name, func(b *testing.B) {
			d, _ := Lookup(name)
			l, err := d.DecodeResponse(answer100(name), "")
			if err != nil {
				b.Fatal(err)
			}
			l.Shard = "a"
			res := &Response{Result: merge.Merge([]merge.List{l}, 0, merge.Options{Limit: 100}), Took: time.Millisecond,
				Shards: []ShardReport{{Name: "a", Status: StatusOK}}, Complete: true}
			q := &Query{Dialect: name, Limit: 100, HasLimit: true}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.EncodeResponse(q, res); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchDecode measures d.DecodeResponse on one shard answer.
func benchDecode(b *testing.B, d Dialect, body []byte) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.DecodeResponse(body, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMeiliDecodeRequest decodes the search body integration/cmd/loadbench
// sends, as the handler does for every client request.
func BenchmarkMeiliDecodeRequest(b *testing.B) {
	body := []byte(`{"q":"network monitor tool","limit":10,"showRankingScore":true}`)
	r := httptest.NewRequest(http.MethodPost, "/indexes/docs/search", nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (meilisearch{}).DecodeRequest(r, body); err != nil {
			b.Fatal(err)
		}
	}
}
