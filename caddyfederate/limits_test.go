package caddyfederate

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/dialect"
)

// TestMultiSearchIsBounded: the attack (before): a 20 KB multi_search made
// thousands of shard calls and took Caddy past a gigabyte. Safe: more
// than max_searches searches, or more than max_shard_calls calls, is a 400
// in Typesense's shape before any shard is asked; 50 searches still work.
func TestMultiSearchIsBounded(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"1", 1, ""})
	b := newFakeEngine(t, "meilisearch", fakeHit{"2", 1, ""})
	site := "\tfederate {\n\t\tdialect typesense\n\t\tcoalesce off\n" +
		shardLine("a", a, "dialect meilisearch", "index docs") + "\n" +
		shardLine("b", b, "dialect meilisearch", "index docs") + "\n\t}"
	url := startCaddy(t, site)
	body := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf(`{"collection":"docs","q":"q%d","query_by":"title"}`, i)
		}
		return `{"searches":[` + strings.Join(s, ",") + `]}`
	}
	resp, out := search(t, url+"/multi_search", body(2000))
	if resp.StatusCode != 400 || !strings.Contains(fmt.Sprint(out["message"]), "max_searches") {
		t.Errorf("2000 searches: status %d %v, want 400 naming max_searches", resp.StatusCode, out)
	}
	if n := len(a.requests()) + len(b.requests()); n != 0 {
		t.Fatalf("shards saw %d calls for a refused request", n)
	}
	resp, out = search(t, url+"/multi_search", body(50))
	if resp.StatusCode != 200 || len(out["results"].([]any)) != 50 {
		t.Errorf("50 searches: status %d", resp.StatusCode)
	}

	url = startCaddy(t, strings.Replace(site, "coalesce off", "coalesce off\n\t\tmax_shard_calls 10", 1))
	resp, out = search(t, url+"/multi_search", body(6))
	if resp.StatusCode != 400 || !strings.Contains(fmt.Sprint(out["message"]), "max_shard_calls") {
		t.Errorf("12 calls over max_shard_calls 10: status %d %v", resp.StatusCode, out)
	}
}

// TestAggregationsAreBounded: the attack (before): thousands of
// aggregations, or a terms size of 2^31-1, went to every shard. Safe: a
// 400 in Elasticsearch's shape naming the limit.
func TestAggregationsAreBounded(t *testing.T) {
	e := newFakeEngine(t, "elasticsearch", fakeHit{"1", 1, ""})
	url := startCaddy(t, "\tfederate /docs/_search {\n\t\tdialect elasticsearch\n\t\tcoalesce off\n"+shardLine("e", e)+"\n\t}")
	aggs := func(n int, size int64) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf(`"a%d":{"terms":{"field":"f%d","size":%d}}`, i, i, size)
		}
		return `{"query":{"match_all":{}},"aggs":{` + strings.Join(s, ",") + `}}`
	}
	for _, tc := range []struct {
		body   string
		status int
		limit  string
	}{
		{aggs(5, 10), 200, ""},
		{aggs(21, 10), 400, "max_aggregations"},
		{aggs(1, 1<<31-1), 400, "max_aggregation_size"},
	} {
		resp, out := search(t, url+"/docs/_search", tc.body)
		if resp.StatusCode != tc.status || !strings.Contains(fmt.Sprint(out), tc.limit) {
			t.Errorf("status %d %v, want %d naming %s", resp.StatusCode, out, tc.status, tc.limit)
		}
		if tc.status == 400 && out["error"] == nil {
			t.Errorf("not in Elasticsearch's error shape: %v", out)
		}
	}
	if n := len(e.requests()); n != 1 {
		t.Errorf("shard saw %d requests, want only the allowed one", n)
	}
}

// TestConcurrentFanOutsAreBounded: beyond max_concurrent, a request waits
// briefly and is then answered 503 with Retry-After, in the client's
// dialect; the held request still succeeds.
func TestConcurrentFanOutsAreBounded(t *testing.T) {
	e := newFakeEngine(t, "meilisearch", fakeHit{"1", 1, ""})
	e.set(func(f *fakeEngine) { f.delay = 800 * time.Millisecond })
	url := startCaddy(t, meiliSite("\t\tmax_concurrent 1\n\t\ttimeout 5s", shardLine("a", e)))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if resp, out := search(t, url+"/indexes/x/search", `{"q":"first"}`); resp.StatusCode != 200 {
			t.Errorf("held request: %d %v", resp.StatusCode, out)
		}
	}()
	time.Sleep(150 * time.Millisecond)
	resp, out := search(t, url+"/indexes/x/search", `{"q":"second"}`)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || out["code"] != "too_many_requests" {
		t.Errorf("over max_concurrent: status %d Retry-After %q %v", resp.StatusCode, resp.Header.Get("Retry-After"), out)
	}
	wg.Wait()
	if resp, _ := search(t, url+"/indexes/x/search", `{"q":"third"}`); resp.StatusCode != 200 {
		t.Errorf("after the slot freed: status %d", resp.StatusCode)
	}
}

// TestInflightBytesBudget: a shard answer that would take the route past
// max_inflight_bytes fails that shard (the other shard's answer is kept),
// and every byte is given back once the request is answered.
func TestInflightBytesBudget(t *testing.T) {
	big := make([]fakeHit, 40)
	for i := range big {
		big[i] = fakeHit{fmt.Sprintf("b%d", i), 1, strings.Repeat("x", 100)}
	}
	small := newFakeEngine(t, "meilisearch", fakeHit{"s", 1, ""})
	large := newFakeEngine(t, "meilisearch", big...)
	small.noGzip, large.noGzip = true, true
	url := startCaddy(t, meiliSite("\t\tname budget\n\t\tmax_inflight_bytes 2KiB\n\t\tmin_shards 1", shardLine("small", small), shardLine("large", large)))
	resp, out := search(t, url+"/indexes/x/search", `{"q":"a","limit":50}`)
	if resp.StatusCode != 200 || fmt.Sprint(hitIDs(t, out)) != "[s]" {
		t.Fatalf("status %d %v, want only the small shard's hit", resp.StatusCode, out)
	}
	if !strings.Contains(fmt.Sprint(out["remoteErrors"]), "max_inflight_bytes") {
		t.Errorf("the large shard's failure does not name the budget: %v", out["remoteErrors"])
	}
	routes.Lock()
	defer routes.Unlock()
	for h := range routes.m {
		if h.name() == "budget" && h.lim.bytes != 0 {
			t.Errorf("%d bytes still charged after the answer", h.lim.bytes)
		}
	}
}

// TestTrickledBodyIsCut: the attack (before): a body sent a byte at a time
// held the request open as long as the client liked. Safe: 408 after
// request_body_timeout.
func TestTrickledBodyIsCut(t *testing.T) {
	e := newFakeEngine(t, "meilisearch", fakeHit{"1", 1, ""})
	url := startCaddy(t, meiliSite("\t\trequest_body_timeout 300ms", shardLine("a", e)))
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /indexes/x/search HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", strings.TrimPrefix(url, "http://"))
	start := time.Now()
	go func() {
		for i := 0; i < 20; i++ {
			time.Sleep(100 * time.Millisecond)
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || time.Since(start) > 2*time.Second {
		t.Errorf("status %d after %v, want 408 soon after 300ms", resp.StatusCode, time.Since(start))
	}
	if n := len(e.requests()); n != 0 {
		t.Errorf("shard saw %d requests", n)
	}
}

// TestSecurityOptionsParse: every option of issue 12 reaches the JSON
// config under its documented name.
func TestSecurityOptionsParse(t *testing.T) {
	h := adaptHandler(t, `federate {
		expose_shard_errors
		max_searches 10
		max_shard_calls 40
		max_aggregations 5
		max_aggregation_size 100
		max_concurrent 8
		max_inflight_bytes 64MiB
		request_body_timeout 3s
		shard a 127.0.0.1:9 {
			forward_credentials
			allow_indexes books acme-*
			lb_policy round_robin
		}
	}`)
	want := map[string]any{"expose_shard_errors": true, "max_searches": 10.0, "max_shard_calls": 40.0, "max_aggregations": 5.0,
		"max_aggregation_size": 100.0, "max_concurrent": 8.0, "max_inflight_bytes": float64(64 << 20), "request_body_timeout": 3e9}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("%s = %v, want %v", k, h[k], v)
		}
	}
	s := h["shards"].([]any)[0].(map[string]any)
	if s["forward_credentials"] != true || fmt.Sprint(s["allow_indexes"]) != "[books acme-*]" {
		t.Errorf("shard = %v", s)
	}
	if p := s["proxy"].(map[string]any); p["load_balancing"] == nil {
		t.Errorf("reverse_proxy options lost: %v", p)
	}
}

// TestReadBodyDeclaredLength reads bodies by their Content-Length and still
// reads, within max_request_body, a body that carries more than it declares
// (one another handler replaced) instead of cutting it.
func TestReadBodyDeclaredLength(t *testing.T) {
	h := &Handler{MaxRequestBody: 8}
	for _, c := range []struct {
		body     string
		declared int64
		want     string
		tooLarge bool
	}{
		{`{"q":1}`, 7, `{"q":1}`, false},
		{`{"q":12}`, 3, `{"q":12}`, false},
		{`{"q":123}`, 3, "", true},
		{`{"q":1}`, -1, `{"q":1}`, false},
	} {
		r := httptest.NewRequest(http.MethodPost, "/indexes/a/search", strings.NewReader(c.body))
		r.ContentLength = c.declared
		b, err := h.readBody(r)
		if c.tooLarge {
			if de, ok := err.(*dialect.Error); !ok || de.Status != http.StatusRequestEntityTooLarge {
				t.Errorf("%q declared %d: got %q, %v; want a 413", c.body, c.declared, b, err)
			}
			continue
		}
		if err != nil || string(b) != c.want {
			t.Errorf("%q declared %d: got %q, %v; want %q", c.body, c.declared, b, err, c.want)
		}
	}
}
