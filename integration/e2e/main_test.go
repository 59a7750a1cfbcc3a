// Package e2e holds the end-to-end tests: real engines, real shard servers and
// the real caddy binary, started by package harness.
package e2e

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/integration/corpus"
	"github.com/searchfront/caddy-federate/integration/harness"
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }

var (
	docsOnce sync.Once
	docs     []corpus.Doc
	docsErr  error
)

// corpus1000 is 1000 packages of the machine's Debian archive, built once.
func corpus1000(t *testing.T) []corpus.Doc {
	t.Helper()
	docsOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		docs, docsErr = corpus.Build(ctx, corpus.Options{N: 1000, Long: true})
	})
	harness.Require(t, docsErr == nil, "Debian archive corpus: %v", docsErr)
	return docs
}

// esAnswer is the part of an Elasticsearch answer the tests read.
type esAnswer struct {
	Took     *int  `json:"took"`
	TimedOut *bool `json:"timed_out"`
	Shards   *struct {
		Total, Successful, Skipped, Failed int
	} `json:"_shards"`
	Hits struct {
		Total struct {
			Value    int    `json:"value"`
			Relation string `json:"relation"`
		} `json:"total"`
		MaxScore *float64 `json:"max_score"`
		Hits     []struct {
			Index  string          `json:"_index"`
			ID     string          `json:"_id"`
			Score  float64         `json:"_score"`
			Source json.RawMessage `json:"_source"`
		} `json:"hits"`
	} `json:"hits"`
	Aggregations map[string]struct {
		SumOther int `json:"sum_other_doc_count"`
		Buckets  []struct {
			Key      string `json:"key"`
			DocCount int    `json:"doc_count"`
		} `json:"buckets"`
	} `json:"aggregations"`
}

func decodeES(t *testing.T, code int, b []byte) esAnswer {
	t.Helper()
	if code != 200 {
		t.Fatalf("status %d: %.300s", code, b)
	}
	var a esAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("not an Elasticsearch answer: %v: %.300s", err, b)
	}
	if a.Took == nil || a.TimedOut == nil || a.Shards == nil ||
		(a.Hits.Total.Relation != "eq" && a.Hits.Total.Relation != "gte") {
		t.Fatalf("Elasticsearch shape incomplete (took, timed_out, _shards, hits.total.relation %q): %.300s", a.Hits.Total.Relation, b)
	}
	return a
}

func ids(a esAnswer) []string {
	var out []string
	for _, h := range a.Hits.Hits {
		out = append(out, h.ID)
	}
	return out
}

// textQuery is an Elasticsearch multi_match over title (boosted) and body.
func textQuery(text string, size int) map[string]any {
	return map[string]any{
		"size":  size,
		"query": map[string]any{"multi_match": map[string]any{"query": text, "fields": []string{"title^2", "body"}}},
	}
}
