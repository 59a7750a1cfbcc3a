package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/typesense/typesense-go/v2/typesense"
	"github.com/typesense/typesense-go/v2/typesense/api"

	"github.com/searchfront/caddy-federate/integration/harness"
)

// The official Typesense Go client (typesense-go v2; v3 is not served by the
// Go module proxy here: 403 "This module version is not available") against
// federate's typesense route over the mixed shards of mixed_test.go.

func ptr[T any](v T) *T { return &v }

func typesenseClient(base string) *typesense.Client {
	return typesense.NewClient(typesense.WithServer(base), typesense.WithAPIKey("federate"),
		typesense.WithNumRetries(0), typesense.WithConnectionTimeout(10*time.Second))
}

// mixedTypesense searches GET /collections/docs/documents/search and POST
// /multi_search through typesense-go and checks that it decodes the merged
// answers.
func mixedTypesense(t *testing.T, f *mixedFixture, partial bool) {
	c := typesenseClient(f.base)
	res, err := c.Collection("docs").Documents().Search(t.Context(), &api.SearchCollectionParams{
		Q: ptr(mixedQuery), QueryBy: ptr("title,body"), PerPage: ptr(20), FacetBy: ptr("section")})
	if err != nil {
		t.Fatalf("typesense-go search: %v", err)
	}
	checkTSResult(t, "search", res, 20)
	if len(*res.FacetCounts) != 1 || *(*res.FacetCounts)[0].FieldName != "section" || len(*(*res.FacetCounts)[0].Counts) == 0 {
		t.Errorf("facet_counts %+v", *res.FacetCounts)
	}

	noID := 0
	for _, h := range *res.Hits {
		if _, ok := (*h.Document)["id"]; !ok {
			noID++
		}
	}
	if noID > 0 {
		t.Logf("KNOWN GAP: %d of %d Typesense documents have no \"id\" (Groonga rows keep _key)", noID, len(*res.Hits))
	}

	if !partial {
		// A filter in the subset, from a Typesense client, to every dialect.
		section := mixedSection(t, f)
		fr, err := c.Collection("docs").Documents().Search(t.Context(), &api.SearchCollectionParams{
			Q: ptr(mixedQuery), QueryBy: ptr("title,body"), PerPage: ptr(50), FilterBy: ptr("section:=" + section)})
		if err != nil {
			t.Fatalf("typesense-go search with filter_by: %v", err)
		}
		if fr.Found == nil || *fr.Found == 0 || *fr.Found >= *res.Found {
			t.Errorf("filtered found %v, unfiltered %v", fr.Found, res.Found)
		}
		for _, h := range *fr.Hits {
			if (*h.Document)["section"] != section {
				t.Errorf("filter_by section:=%s let through %v", section, *h.Document)
			}
		}
	}

	// The same answer, raw: the partial-result member typesense-go ignores.
	q := url.Values{"q": {mixedQuery}, "query_by": {"title,body"}, "per_page": {"20"}}
	code, b := harness.Do(t, http.MethodGet, f.base+"/collections/docs/documents/search?"+q.Encode(), nil)
	var raw struct {
		SearchCutoff bool `json:"search_cutoff"`
		Federate     *struct {
			Complete bool `json:"complete"`
			Shards   map[string]struct {
				Status string `json:"status"`
			} `json:"shards"`
		} `json:"federate"`
	}
	if code != 200 || json.Unmarshal(b, &raw) != nil {
		t.Fatalf("raw typesense search: %d %.300s", code, b)
	}
	if partial != (raw.Federate != nil) || partial != raw.SearchCutoff {
		t.Errorf("partial=%v: search_cutoff %v, federate %+v", partial, raw.SearchCutoff, raw.Federate)
	}
	if partial && (raw.Federate.Complete || raw.Federate.Shards["groonga"].Status == "ok" || raw.Federate.Shards["groonga"].Status == "") {
		t.Errorf("partial: federate %+v", raw.Federate)
	}

	// multi_search: two searches, answered in order.
	ms, err := c.MultiSearch.Perform(t.Context(), &api.MultiSearchParams{QueryBy: ptr("title,body")},
		api.MultiSearchSearchesParameter{Searches: []api.MultiSearchCollectionParameters{
			{Collection: "docs", Q: ptr(mixedQuery), PerPage: ptr(5)},
			{Collection: "docs", Q: ptr("library development files"), PerPage: ptr(7)},
		}})
	if err != nil {
		t.Fatalf("typesense-go multi_search: %v", err)
	}
	if len(ms.Results) != 2 {
		t.Fatalf("multi_search: %d results", len(ms.Results))
	}
	checkTSResult(t, "multi_search[0]", &ms.Results[0], 5)
	checkTSResult(t, "multi_search[1]", &ms.Results[1], 7)
}

func checkTSResult(t *testing.T, what string, res *api.SearchResult, n int) {
	t.Helper()
	if res.Hits == nil || len(*res.Hits) != n || res.Found == nil || *res.Found == 0 {
		t.Fatalf("%s: hits %v, found %v", what, res.Hits, res.Found)
	}
	var prev int64
	for i, h := range *res.Hits {
		if h.Document == nil || len(*h.Document) == 0 || h.TextMatch == nil {
			t.Fatalf("%s: hit %d incomplete: %+v", what, i, h)
		}
		if i > 0 && *h.TextMatch > prev {
			t.Errorf("%s: text_match rises at %d", what, i)
		}
		prev = *h.TextMatch
		if _, ok := (*h.Document)["title"].(string); !ok {
			t.Errorf("%s: hit %d document has no title: %v", what, i, *h.Document)
		}
	}
}
