package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elastic/elastic-transport-go/v8/elastictransport"
	"github.com/elastic/go-elasticsearch/v9/esapi"
	"github.com/meilisearch/meilisearch-go"

	"github.com/searchfront/caddy-federate/integration/corpus"
	"github.com/searchfront/caddy-federate/integration/harness"
)

// The API fleet: three esshard processes over a three-way split of the
// corpus, two asked in Elasticsearch's dialect and one in Meilisearch's
// (esshard speaks both), behind one caddy with a route per client dialect:
//
//	/es/*                                   dialect elasticsearch (handle_path)
//	/indexes/* /multi-search /version /health  dialect meilisearch
//	/collections/* /multi_search            dialect typesense
//
// The clients run twice: over the whole fleet, then with shard es2 stopped
// (every answer must still come, 200, and say it is partial).

type apiFleet struct {
	es1, meili, es2 *harness.Shard
	base            string
}

func startAPIFleet(t *testing.T) *apiFleet {
	t.Helper()
	bin := federateBin(t)
	parts := corpus.SplitHash(corpus1000(t), 3)
	f := &apiFleet{
		es1:   harness.StartESShard(t, harness.ShardOptions{Name: "es1", Docs: parts[0]}),
		meili: harness.StartESShard(t, harness.ShardOptions{Name: "meili", Docs: parts[1]}),
		es2:   harness.StartESShard(t, harness.ShardOptions{Name: "es2", Docs: parts[2]}),
	}
	shards := fmt.Sprintf("\t\tshard es1 %s {\n\t\t\tdialect elasticsearch\n\t\t\tindex docs\n\t\t}\n", f.es1.Addr) +
		fmt.Sprintf("\t\tshard meili %s {\n\t\t\tdialect meilisearch\n\t\t\tindex docs\n\t\t}\n", f.meili.Addr) +
		fmt.Sprintf("\t\tshard es2 %s {\n\t\t\tdialect elasticsearch\n\t\t\tindex docs\n\t\t}\n", f.es2.Addr)
	route := func(matcher, dialect string) string {
		return fmt.Sprintf("\tfederate %s {\n\t\tdialect %s\n\t\tmerge rrf\n\t\ttimeout 3s\n%s\t}\n", matcher, dialect, shards)
	}
	port := harness.FreePort(t)
	f.base = "http://" + harness.Addr(port)
	site := fmt.Sprintf("http://%s {\n", harness.Addr(port)) +
		"\thandle_path /es/* {\n" + route("", "elasticsearch") + "\t}\n" +
		"\t@meili path /indexes/* /multi-search /version /health\n" + route("@meili", "meilisearch") +
		"\t@typesense path /collections/* /multi_search\n" + route("@typesense", "typesense") +
		"}\n"
	c := harness.StartCaddy(t, harness.CaddyOptions{Bin: bin, Sites: site})
	harness.WaitFor(t, c.Proc, "site listening", 10*time.Second, harness.HTTPReady(f.base+"/health"))
	return f
}

// TestClientLibrariesAPI: the official client libraries, Go and JavaScript,
// call search, paging, multi-search (plain, federated, union), count and
// the start-up endpoints through federate over a mixed fleet, whole and
// with a stopped shard.
func TestClientLibrariesAPI(t *testing.T) {
	harness.Heavy(t)
	f := startAPIFleet(t)
	for _, partial := range []bool{false, true} {
		if partial {
			if err := f.es2.Proc.Stop(); err != nil {
				t.Logf("stopping es2: %v", err)
			}
		}
		name := map[bool]string{false: "whole", true: "es2 stopped"}[partial]
		t.Run(name+"/go-elasticsearch", func(t *testing.T) { checkGoElasticsearch(t, f.base+"/es", partial) })
		t.Run(name+"/meilisearch-go", func(t *testing.T) { checkMeiliGoAPI(t, f.base, partial) })
		t.Run(name+"/js", func(t *testing.T) { runJSClients(t, f.base, partial) })
	}
}

// esBody decodes an esapi response, failing on an error status.
func esBody(t *testing.T, what string, status int, body io.ReadCloser, err error, into any) {
	t.Helper()
	if err != nil {
		t.Fatalf("go-elasticsearch %s: %v", what, err)
	}
	defer body.Close()
	raw, _ := io.ReadAll(body)
	if status != http.StatusOK {
		t.Fatalf("go-elasticsearch %s: %d %s", what, status, raw)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		t.Fatalf("go-elasticsearch %s: %v\n%s", what, err, raw)
	}
}

// esSearchAnswer is the part of a search answer the checks read.
type esSearchAnswer struct {
	Status int `json:"status"`
	Shards struct {
		Failed int `json:"failed"`
	} `json:"_shards"`
	Hits struct {
		Total struct {
			Value int `json:"value"`
		} `json:"total"`
		Hits []struct {
			ID string `json:"_id"`
		} `json:"hits"`
	} `json:"hits"`
	Error *struct {
		Type string `json:"type"`
	} `json:"error"`
}

// goESClient is go-elasticsearch v9's API (esapi) on its transport, doing
// what the client's root package does on every request in compatibility
// mode: Accept (and Content-Type of a body) compatible-with=9, and the
// product check on every 2xx answer. The root package is left out because
// it compiles the 3,700-file typed API into the test binary; the JavaScript
// client (clients.mjs) runs its own product check unmodified.
type goESClient struct{ tp *elastictransport.Client }

const esCompat9 = "application/vnd.elasticsearch+json;compatible-with=9"

func (c goESClient) Perform(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Header.Set("Content-Type", esCompat9)
	}
	r.Header.Set("Accept", esCompat9)
	res, err := c.tp.Perform(r)
	if err == nil && res.StatusCode < 300 && res.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		res.Body.Close()
		return nil, errors.New("the client noticed that the server is not Elasticsearch and we do not support this unknown product")
	}
	return res, err
}

// checkGoElasticsearch drives go-elasticsearch v9: info, two pages of a
// search, msearch with a bad item, count.
func checkGoElasticsearch(t *testing.T, base string, partial bool) {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := elastictransport.New(elastictransport.Config{URLs: []*url.URL{u}})
	if err != nil {
		t.Fatal(err)
	}
	es := esapi.New(goESClient{tp})
	failed := map[bool]int{false: 0, true: 1}[partial]
	res, err := es.Info()
	if err == nil && res.Header.Get("Content-Type") != esCompat9 {
		t.Errorf("info: Content-Type %q, want the compatible-with media type asked", res.Header.Get("Content-Type"))
	}
	var info struct {
		Version struct {
			Number string `json:"number"`
		} `json:"version"`
	}
	esBody(t, "info", res.StatusCode, res.Body, err, &info)
	if !strings.HasPrefix(info.Version.Number, "9.") {
		t.Errorf("info: version %q for a v9 client", info.Version.Number)
	}
	query := `{"query":{"match":{"body":"network server"}}}`
	var pages [2]esSearchAnswer
	for i := range pages {
		res, err := es.Search(es.Search.WithIndex("docs"), es.Search.WithBody(strings.NewReader(query)),
			es.Search.WithFrom(5*i), es.Search.WithSize(5))
		esBody(t, "search", res.StatusCode, res.Body, err, &pages[i])
		if len(pages[i].Hits.Hits) != 5 || pages[i].Shards.Failed != failed {
			t.Errorf("search page %d: %d hits, _shards.failed %d", i, len(pages[i].Hits.Hits), pages[i].Shards.Failed)
		}
	}
	seen := map[string]bool{}
	for _, p := range pages {
		for _, h := range p.Hits.Hits {
			if seen[h.ID] {
				t.Errorf("paging: %s on both pages", h.ID)
			}
			seen[h.ID] = true
		}
	}
	nd := "{\"index\":\"docs\"}\n{\"query\":{\"match\":{\"body\":\"network\"}},\"size\":3}\n" +
		"{}\n{\"aggs\":{\"p\":{\"avg\":{\"field\":\"price\"}}}}\n"
	res, err = es.Msearch(strings.NewReader(nd), es.Msearch.WithIndex("docs"))
	var ms struct {
		Responses []esSearchAnswer `json:"responses"`
	}
	esBody(t, "msearch", res.StatusCode, res.Body, err, &ms)
	if len(ms.Responses) != 2 || ms.Responses[0].Status != 200 || len(ms.Responses[0].Hits.Hits) != 3 ||
		ms.Responses[0].Shards.Failed != failed || ms.Responses[1].Status != 400 || ms.Responses[1].Error == nil {
		t.Errorf("msearch: %+v", ms.Responses)
	}
	res, err = es.Count(es.Count.WithIndex("docs"), es.Count.WithBody(strings.NewReader(query)))
	var count struct {
		Count  int `json:"count"`
		Shards struct {
			Failed int `json:"failed"`
		} `json:"_shards"`
	}
	esBody(t, "count", res.StatusCode, res.Body, err, &count)
	if count.Count == 0 || count.Count != pages[0].Hits.Total.Value || count.Shards.Failed != failed {
		t.Errorf("count %+v, search total %d", count, pages[0].Hits.Total.Value)
	}
}

// checkMeiliGoAPI drives meilisearch-go: version, health, multi-search
// plain and federated.
func checkMeiliGoAPI(t *testing.T, base string, partial bool) {
	c := meilisearch.New(base)
	defer c.Close()
	ctx := t.Context()
	if v, err := c.Version(ctx); err != nil || v.PkgVersion == "" {
		t.Errorf("version: %+v %v", v, err)
	}
	if !c.IsHealthy() {
		t.Error("IsHealthy is false")
	}
	plain, err := c.MultiSearch(ctx, &meilisearch.MultiSearchRequest{Queries: []*meilisearch.SearchRequest{
		{IndexUID: "docs", Query: "network", Limit: 3}, {IndexUID: "docs", Query: "server", Limit: 2}}})
	if err != nil {
		t.Fatalf("multi-search: %v", err)
	}
	if len(plain.Results) != 2 || len(plain.Results[0].Hits) != 3 || len(plain.Results[1].Hits) != 2 || plain.Results[1].IndexUID != "docs" {
		t.Errorf("multi-search: %d results", len(plain.Results))
	}
	fed, err := c.MultiSearch(ctx, &meilisearch.MultiSearchRequest{
		Federation: &meilisearch.MultiSearchFederation{Limit: 6},
		Queries: []*meilisearch.SearchRequest{{IndexUID: "docs", Query: "network"},
			{IndexUID: "docs", Query: "server", FederationOptions: &meilisearch.SearchFederationOptions{Weight: 2}}}})
	if err != nil {
		t.Fatalf("federated multi-search: %v", err)
	}
	if len(fed.Hits) != 6 || len(fed.Results) != 0 || (len(fed.RemoteErrors) > 0) != partial {
		t.Errorf("federated: %d hits, %d results, remoteErrors %v", len(fed.Hits), len(fed.Results), fed.RemoteErrors)
	}
	for _, h := range fed.Hits {
		var fd struct {
			IndexUID        string   `json:"indexUid"`
			QueriesPosition *int     `json:"queriesPosition"`
			Weighted        *float64 `json:"weightedRankingScore"`
			Shard           string   `json:"shard"`
		}
		if err := json.Unmarshal(h["_federation"], &fd); err != nil || fd.IndexUID != "docs" || fd.QueriesPosition == nil ||
			fd.Weighted == nil || fd.Shard == "" {
			t.Errorf("hit _federation %s (%v)", h["_federation"], err)
		}
	}
}

// runJSClients runs clients/clients.mjs (@elastic/elasticsearch 9,
// meilisearch, typesense) against base.
func runJSClients(t *testing.T, base string, partial bool) {
	dir := filepath.Join(harness.Root(), "clients")
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		harness.Require(t, false, "%s/node_modules is missing: run integration/scripts/setup.sh", dir)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "clients.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FEDERATE_URL="+base, "PARTIAL="+map[bool]string{false: "0", true: "1"}[partial])
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node clients.mjs: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
