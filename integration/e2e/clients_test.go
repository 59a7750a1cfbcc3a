package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/meilisearch/meilisearch-go"
	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/searchfront/caddy-federate/integration/harness"
)

// checkOpenSearchClient searches base through the official OpenSearch client
// (Elasticsearch's search shape; go-elasticsearch v8 is left out because it
// compiles its 3,700-file typed API into every test binary).
func checkOpenSearchClient(t *testing.T, base string) {
	t.Helper()
	c, err := opensearchapi.NewClient(opensearchapi.Config{Client: opensearch.Config{Addresses: []string{base}}})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"size":10,"query":{"multi_match":{"query":"network server","fields":["title^2","body"]}},
		"aggs":{"sections":{"terms":{"field":"section","size":5}}}}`
	res, err := c.Search(t.Context(), &opensearchapi.SearchReq{Indices: []string{"docs"}, Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("opensearch-go against %s: %v", base, err)
	}
	if res.Hits.Total.Value == 0 || len(res.Hits.Hits) != 10 || res.Shards.Total == 0 || res.Hits.MaxScore == nil {
		t.Fatalf("opensearch-go: total %+v, %d hits, _shards %+v", res.Hits.Total, len(res.Hits.Hits), res.Shards)
	}
	if h := res.Hits.Hits[0]; h.ID == "" || h.Score == 0 || len(h.Source) == 0 {
		t.Errorf("opensearch-go: first hit incomplete: %+v", h)
	}
	var aggs struct {
		Sections struct {
			Buckets []struct {
				Key      string `json:"key"`
				DocCount int    `json:"doc_count"`
			} `json:"buckets"`
		} `json:"sections"`
	}
	if err := json.Unmarshal(res.Aggregations, &aggs); err != nil || len(aggs.Sections.Buckets) == 0 {
		t.Errorf("opensearch-go: aggregations %s (%v)", res.Aggregations, err)
	}
}

// checkMeiliClient searches base through the official Meilisearch client.
func checkMeiliClient(t *testing.T, base string) {
	t.Helper()
	c := meilisearch.New(base)
	defer c.Close()
	res, err := c.Index("docs").Search(t.Context(), "network server", &meilisearch.SearchRequest{
		Limit: 5, ShowRankingScore: true, Facets: []string{"section"}})
	if err != nil {
		t.Fatalf("meilisearch-go against %s: %v", base, err)
	}
	if len(res.Hits) != 5 || res.EstimatedTotalHits == 0 || len(res.FacetDistribution) == 0 {
		t.Fatalf("meilisearch-go: %d hits, estimatedTotalHits %d, facets %s", len(res.Hits), res.EstimatedTotalHits, res.FacetDistribution)
	}
	if _, ok := res.Hits[0]["_rankingScore"]; !ok {
		t.Errorf("meilisearch-go: hit without _rankingScore: %v", fmt.Sprint(res.Hits[0]))
	}
}

// TestOfficialClientsAgainstShards: the shard servers' dialects are what the
// official clients expect, so tests built on them test the real contract.
func TestOfficialClientsAgainstShards(t *testing.T) {
	harness.Heavy(t)
	s := harness.StartESShard(t, harness.ShardOptions{Docs: corpus1000(t)})
	checkOpenSearchClient(t, s.URL)
	checkMeiliClient(t, s.URL)
}
