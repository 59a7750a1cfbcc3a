package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/integration/harness"
)

// recorded is exactly what reached a shard.
type recorded struct {
	Method, Path, Query, Body string
	Header                    http.Header
}

// recorder is a shard that logs every request as it arrived (method, raw
// path, raw query, every header, body) and answers a search in the dialect
// its path names (Meilisearch, Elasticsearch, Typesense), with one hit
// whose id echoes the X-Tenant and X-Host headers it received.
type recorder struct {
	srv   *httptest.Server
	delay time.Duration
	mu    sync.Mutex
	log   []recorded
}

func startRecorder(t *testing.T, delay time.Duration) *recorder {
	rec := &recorder{delay: delay}
	rec.srv = httptest.NewServer(http.HandlerFunc(rec.serve))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (rec *recorder) addr() string { return strings.TrimPrefix(rec.srv.URL, "http://") }

func (rec *recorder) requests() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.log...)
}

func (rec *recorder) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.log = append(rec.log, recorded{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Body: string(body), Header: r.Header.Clone()})
	rec.mu.Unlock()
	time.Sleep(rec.delay)
	id := r.Header.Get("X-Tenant") + "|" + r.Header.Get("X-Host")
	var out any
	switch {
	case strings.HasSuffix(r.URL.Path, "/_search"):
		out = map[string]any{"took": 1, "timed_out": false, "_shards": map[string]int{"total": 1, "successful": 1},
			"hits": map[string]any{"total": map[string]any{"value": 1, "relation": "eq"}, "max_score": 1,
				"hits": []any{map[string]any{"_index": "docs", "_id": id, "_score": 1, "_source": map[string]any{"title": "t"}}}}}
	case strings.HasSuffix(r.URL.Path, "/documents/search"):
		out = map[string]any{"found": 1, "out_of": 1, "page": 1, "search_time_ms": 1,
			"hits": []any{map[string]any{"document": map[string]any{"id": id}, "text_match": 1}}}
	default:
		out = map[string]any{"hits": []any{map[string]any{"id": id, "_rankingScore": 1}}, "estimatedTotalHits": 1,
			"offset": 0, "limit": 20, "processingTimeMs": 1, "query": ""}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// secCaddy starts the federate caddy with one site on a loopback port that
// answers any Host.
func secCaddy(t *testing.T, body string) string {
	t.Helper()
	port := harness.FreePort(t)
	harness.StartCaddy(t, harness.CaddyOptions{Bin: federateBin(t), Sites: fmt.Sprintf("http://:%d {\n%s\n}\n", port, body)})
	return "http://" + harness.Addr(port)
}

// send posts body to url with headers (Host included) and returns the
// status, response headers and body.
func send(t *testing.T, url, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestSecurityCoalescingTenants: two tenants send the same search at the
// same moment; their shard requests differ only by a header rendered by
// header_up and by the Host. Before: the second tenant got the first
// tenant's hit. Now: each gets its own; one tenant's identical requests
// still share one shard call.
func TestSecurityCoalescingTenants(t *testing.T) {
	rec := startRecorder(t, 400*time.Millisecond)
	url := secCaddy(t, fmt.Sprintf(`	federate /indexes/* {
		dialect meilisearch
		timeout 10s
		shard a %s {
			header_up X-Tenant {http.request.header.X-Tenant}
			header_up X-Host {http.request.host}
		}
	}`, rec.addr()))
	clients := [][]string{
		{"X-Tenant", "acme", "Host", "acme.example"},
		{"X-Tenant", "evil", "Host", "acme.example"},
		{"X-Tenant", "acme", "Host", "evil.example"},
		{"X-Tenant", "acme", "Host", "acme.example", "User-Agent", "another-browser"},
	}
	got := make([]string, len(clients))
	var wg sync.WaitGroup
	for i, hdr := range clients {
		wg.Add(1)
		go func(i int, hdr []string) {
			defer wg.Done()
			code, _, body := send(t, url+"/indexes/docs/search", `{"q":"same"}`, hdr...)
			if code != 200 {
				t.Errorf("client %d: %d %s", i, code, body)
			}
			var a struct{ Hits []struct{ ID string } }
			_ = json.Unmarshal([]byte(body), &a)
			if len(a.Hits) == 1 {
				got[i] = a.Hits[0].ID
			}
		}(i, hdr)
	}
	wg.Wait()
	want := []string{"acme|acme.example", "evil|acme.example", "acme|evil.example", "acme|acme.example"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("client %d (%v) got hit %q, want %q", i, clients[i], got[i], want[i])
		}
	}
	if n := len(rec.requests()); n != 3 {
		t.Errorf("shard saw %d requests, want 3 (the two identical acme requests share one)", n)
	}
}

// TestSecurityWhatReachesAShard: the recorder's log of one search holds no
// client credential (the operator's header_up key instead), no client
// address beyond reverse_proxy's X-Forwarded-For, and the index escaped
// once; the Typesense tenant filter pinned in the shard's index holds
// together with the client's own.
func TestSecurityWhatReachesAShard(t *testing.T) {
	meili := startRecorder(t, 0)
	ts := startRecorder(t, 0)
	url := secCaddy(t, fmt.Sprintf(`	federate /indexes/* {
		dialect meilisearch
		shard m %s {
			header_up Authorization "Bearer operator-key"
		}
	}
	federate /collections/* {
		dialect typesense
		shard t %s {
			index "docs?query_by=title&filter_by=tenant:=acme"
		}
	}`, meili.addr(), ts.addr()))
	code, _, body := send(t, url+"/indexes/docs/search", `{"q":"x"}`,
		"Authorization", "Bearer client-key", "Cookie", "session=secret", "X-Meili-API-Key", "client-key-2")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	r := meili.requests()[0]
	t.Logf("reached the Meilisearch shard: %s %s?%s headers %v body %s", r.Method, r.Path, r.Query, r.Header, r.Body)
	if r.Header.Get("Authorization") != "Bearer operator-key" || r.Header.Get("Cookie") != "" || r.Header.Get("X-Meili-Api-Key") != "" {
		t.Errorf("credentials: Authorization %q Cookie %q X-Meili-API-Key %q", r.Header.Get("Authorization"), r.Header.Get("Cookie"), r.Header.Get("X-Meili-Api-Key"))
	}
	for _, s := range []string{"client-key", "secret"} {
		if strings.Contains(fmt.Sprint(r), s) {
			t.Errorf("%q reached the shard: %v", s, r)
		}
	}

	code, _, body = send(t, url+"/collections/docs/documents/search?q=x&query_by=secret_notes&filter_by=tenant:=evil&x-typesense-api-key=tk", "",
		"X-TYPESENSE-API-KEY", "tk2")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	r = ts.requests()[0]
	t.Logf("reached the Typesense shard: %s %s?%s", r.Method, r.Path, r.Query)
	q, _ := parseQuery(r.Query)
	if q["filter_by"] != "(tenant:=evil) && (tenant:=acme)" || q["query_by"] != "title" {
		t.Errorf("pinned parameters: filter_by %q query_by %q, want both filters and the operator's query_by", q["filter_by"], q["query_by"])
	}
	if strings.Contains(r.Query, "tk") || r.Header.Get("X-Typesense-Api-Key") != "" {
		t.Errorf("the client's Typesense key reached the shard: %s %v", r.Query, r.Header)
	}
}

func parseQuery(raw string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		k, _ = urlUnescape(k)
		v, _ = urlUnescape(v)
		out[k] = v
	}
	return out, nil
}

// TestSecurityIndexNames: a client naming a system, remote, wildcard or
// injected index is refused before any shard is asked; an Elasticsearch
// shard without index never searches /_search.
func TestSecurityIndexNames(t *testing.T) {
	rec := startRecorder(t, 0)
	url := secCaddy(t, fmt.Sprintf(`	federate /indexes/* {
		dialect meilisearch
		shard m %s
	}
	federate /collections/* {
		dialect typesense
		shard t %s {
			dialect typesense
		}
	}
	federate /_search {
		dialect elasticsearch
		shard e %s
	}`, rec.addr(), rec.addr(), rec.addr()))
	for _, path := range []string{"/indexes/.security/search", "/indexes/_all/search", "/indexes/remote:x/search", "/indexes/logs-*/search",
		"/collections/docs%3Fquery_by%3Dsecret%26filter_by%3Dtenant:%3Devil/documents/search?q=x&query_by=title", "/_search"} {
		code, _, body := send(t, url+path, `{}`)
		if code != 400 {
			t.Errorf("%s: %d %s, want 400", path, code, body)
		}
	}
	if rs := rec.requests(); len(rs) != 0 {
		t.Errorf("the shard was asked: %+v", rs)
	}
}

// TestSecurityErrorsAndLimits: a failed shard's address and error body stay
// out of the answer; a 2,000-search multi_search is refused before any
// shard call; a trickled body is cut with a 408.
func TestSecurityErrorsAndLimits(t *testing.T) {
	rec := startRecorder(t, 0)
	leaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		io.WriteString(w, `{"error":"tenant acme-private on 10.9.8.7 failed"}`)
	}))
	t.Cleanup(leaky.Close)
	dead := harness.Addr(harness.FreePort(t))
	url := secCaddy(t, fmt.Sprintf(`	federate /indexes/* {
		dialect meilisearch
		request_body_timeout 500ms
		shard ok %s
		shard leaky %s
		shard dead %s
	}
	federate /multi_search {
		dialect typesense
		shard t %s {
			index "docs?query_by=title"
		}
	}`, rec.addr(), strings.TrimPrefix(leaky.URL, "http://"), dead, rec.addr()))
	code, _, body := send(t, url+"/indexes/docs/search", `{"q":"x"}`)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	for _, s := range []string{"acme-private", "10.9.8.7", strings.TrimPrefix(leaky.URL, "http://"), dead, rec.addr(), "dial", "refused"} {
		if strings.Contains(body, s) {
			t.Errorf("answer leaks %q: %s", s, body)
		}
	}
	t.Logf("client sees: %s", body)

	searches := make([]string, 2000)
	for i := range searches {
		searches[i] = fmt.Sprintf(`{"collection":"docs","q":"q%d"}`, i)
	}
	before := len(rec.requests())
	code, _, body = send(t, url+"/multi_search", `{"searches":[`+strings.Join(searches, ",")+`]}`)
	if code != 400 || !strings.Contains(body, "max_searches") || len(rec.requests()) != before {
		t.Errorf("2000 searches: %d %.200s, %d shard calls", code, body, len(rec.requests())-before)
	}

	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /indexes/docs/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{")
	go func() {
		for i := 0; i < 30; i++ {
			time.Sleep(100 * time.Millisecond)
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 408 || time.Since(start) > 2*time.Second {
		t.Errorf("trickled body: %d after %v, want 408 after about 500ms", resp.StatusCode, time.Since(start))
	}
}

var urlUnescape = url.QueryUnescape
