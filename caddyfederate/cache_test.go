package caddyfederate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// cacheSite is a Meilisearch route named "cached" over the given engines
// (shard index "docs"), with cacheBlock as its cache option.
func cacheSite(cacheBlock string, engines ...*fakeEngine) string {
	var shards []string
	for i, e := range engines {
		shards = append(shards, shardLine(fmt.Sprintf("s%d", i), e, "\t\t\tindex docs",
			"\t\t\theader_up X-Tenant {http.request.header.X-Tenant}"))
	}
	return meiliSite("\t\tname cached\n\t\t"+cacheBlock, shards...)
}

// routeHandler is the provisioned federate handler named name.
func routeHandler(t *testing.T, name string) *Handler {
	t.Helper()
	routes.Lock()
	defer routes.Unlock()
	for h := range routes.m {
		if h.name() == name {
			return h
		}
	}
	t.Fatalf("no federate route named %q", name)
	return nil
}

// calls is how many search requests an engine has received.
func engineCalls(f *fakeEngine) int { return len(f.requests()) }

// cacheState sends a search (a "Host" in hdr sets the request's host) and
// returns its Federate-Cache header.
func cacheState(t *testing.T, url, body string, hdr ...string) (string, *http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/indexes/docs/search", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	// No keep-alive: a reload's replaced server may be closing an idle
	// connection. A dial refused or reset right after a reload (the old
	// server's listening socket closing while the new one takes over) is
	// retried: the request never reached a server.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var resp *http.Response
	for attempt := 1; ; attempt++ {
		if req.GetBody != nil {
			req.Body, _ = req.GetBody()
		}
		resp, err = client.Do(req)
		var op *net.OpError
		if err == nil || attempt == 20 || !errors.As(err, &op) || op.Op != "dial" {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer is not JSON (%d %v): %v: %q", resp.StatusCode, resp.Header, err, raw)
	}
	return resp.Header.Get("Federate-Cache"), resp, out
}

// loadSite replaces the in-process config with site, listening on port
// for every host name, and returns its base URL.
func loadSite(t *testing.T, port, site string) string {
	t.Helper()
	cf := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tgrace_period 100ms\n\tpersist_config off\n}\nhttp://:%s {\n%s\n}\n", port, site)
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	return "http://127.0.0.1:" + port
}

// TestCacheHitMissAge: the first search is a miss that asks the shards, the
// same search again is a hit that does not, with an Age header; the hit's
// body is the miss's.
func TestCacheHitMissAge(t *testing.T) {
	e := newFakeEngine(t, "meilisearch", fakeHit{ID: "a", Score: 1}, fakeHit{ID: "b", Score: 0.5})
	url := startCaddy(t, cacheSite("cache", e))
	st, resp, out1 := cacheState(t, url, `{"q":"x"}`)
	if st != "miss" || resp.Header.Get("Age") != "" || resp.StatusCode != 200 {
		t.Fatalf("first search: Federate-Cache %q Age %q status %d, want a miss without Age", st, resp.Header.Get("Age"), resp.StatusCode)
	}
	time.Sleep(1100 * time.Millisecond)
	st, resp, out2 := cacheState(t, url, `{"q":"x"}`)
	if st != "hit" || resp.Header.Get("Age") != "1" || resp.Header.Get("Federate-Complete") != "true" {
		t.Fatalf("second search: Federate-Cache %q Age %q Federate-Complete %q, want a hit of age 1",
			st, resp.Header.Get("Age"), resp.Header.Get("Federate-Complete"))
	}
	if fmt.Sprint(hitIDs(t, out1)) != fmt.Sprint(hitIDs(t, out2)) {
		t.Errorf("hit answered %v, the miss %v", hitIDs(t, out2), hitIDs(t, out1))
	}
	if n := engineCalls(e); n != 1 {
		t.Errorf("engine asked %d times, want 1", n)
	}
	if st, _, _ := cacheState(t, url, `{"q":"y"}`); st != "miss" {
		t.Errorf("another query: %q, want miss", st)
	}
}

// TestCacheKeySeparation: answers are shared only between requests whose
// shard requests would be identical: never across tenants (a header that a
// shard's header_up forwards), host names, credentials or bodies; but
// across the listening port of one host name.
func TestCacheKeySeparation(t *testing.T) {
	e := newFakeEngine(t, "meilisearch", fakeHit{ID: "a", Score: 1})
	url := loadSite(t, fmt.Sprint(freePort(t)), cacheSite("cache", e))
	first := func(name string, hdr ...string) {
		t.Helper()
		if st, _, _ := cacheState(t, url, `{"q":"x"}`, hdr...); st != "miss" {
			t.Errorf("%s: Federate-Cache %q, want miss (an entry of another request was served)", name, st)
		}
	}
	first("tenant acme", "X-Tenant", "acme")
	first("tenant globex", "X-Tenant", "globex")
	first("credentials", "X-Tenant", "acme", "Authorization", "Bearer one")
	first("other credentials", "X-Tenant", "acme", "Authorization", "Bearer two")
	first("host a", "X-Tenant", "acme", "Host", "a.example")
	first("host b", "X-Tenant", "acme", "Host", "b.example")
	if st, _, _ := cacheState(t, url, `{"q":"x"}`, "X-Tenant", "acme", "Host", "a.example:8443"); st != "hit" {
		t.Errorf("same host name on another port: Federate-Cache %q, want hit", st)
	}
	if st, _, _ := cacheState(t, url, `{"q":"x"}`, "X-Tenant", "globex"); st != "hit" {
		t.Errorf("tenant globex again: Federate-Cache %q, want hit", st)
	}

	// Dialects: the same request to routes of different client dialects.
	h1 := &Handler{Dialect: "meilisearch"}
	h2 := &Handler{Dialect: "federate"}
	r, _ := http.NewRequest(http.MethodPost, "http://h/indexes/docs/search", nil)
	if h1.cacheKey(r, []byte(`{"q":"x"}`)) == h2.cacheKey(r, []byte(`{"q":"x"}`)) {
		t.Error("two dialects share a cache key")
	}
}

// TestCacheTTL: an entry is served until its ttl, then refilled.
func TestCacheTTL(t *testing.T) {
	e := newFakeEngine(t, "meilisearch", fakeHit{ID: "a", Score: 1})
	url := startCaddy(t, cacheSite("cache {\n\t\t\tttl 400ms\n\t\t}", e))
	for i, want := range []string{"miss", "hit"} {
		if st, _, _ := cacheState(t, url, `{"q":"x"}`); st != want {
			t.Fatalf("search %d: %q, want %q", i, st, want)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if st, _, _ := cacheState(t, url, `{"q":"x"}`); st != "miss" {
		t.Fatalf("after the ttl: %q, want miss", st)
	}
	if n := engineCalls(e); n != 2 {
		t.Errorf("engine asked %d times, want 2", n)
	}
}

// TestCachePartialNeverCached: an answer with a failed shard (200, but
// Federate-Complete false) is a bypass, and is asked of the shards again.
func TestCachePartialNeverCached(t *testing.T) {
	ok := newFakeEngine(t, "meilisearch", fakeHit{ID: "a", Score: 1})
	bad := newFakeEngine(t, "meilisearch")
	bad.set(func(f *fakeEngine) { f.status = http.StatusInternalServerError })
	url := startCaddy(t, cacheSite("cache", ok, bad))
	for i := 0; i < 2; i++ {
		st, resp, _ := cacheState(t, url, `{"q":"x"}`)
		if st != "bypass" || resp.StatusCode != 200 || resp.Header.Get("Federate-Complete") != "false" {
			t.Fatalf("search %d: Federate-Cache %q status %d complete %q, want a partial 200 bypass",
				i, st, resp.StatusCode, resp.Header.Get("Federate-Complete"))
		}
	}
	if n := engineCalls(ok); n != 2 {
		t.Errorf("healthy engine asked %d times, want 2 (a partial answer was served from the cache)", n)
	}
	// Errors are not cached either.
	bad2 := newFakeEngine(t, "meilisearch")
	bad2.set(func(f *fakeEngine) { f.status = http.StatusInternalServerError })
	url = startCaddy(t, cacheSite("cache", bad2))
	for i := 0; i < 2; i++ {
		if st, resp, _ := cacheState(t, url, `{"q":"x"}`); st != "bypass" || resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("failed search %d: %q %d, want bypass 502", i, st, resp.StatusCode)
		}
	}
}

// TestCacheNoCache: a no-cache request goes to the shards (a miss) and its
// answer replaces the entry; no-store neither reads nor fills.
func TestCacheNoCache(t *testing.T) {
	e := newFakeEngine(t, "meilisearch", fakeHit{ID: "old", Score: 1})
	url := startCaddy(t, cacheSite("cache", e))
	cacheState(t, url, `{"q":"x"}`)
	e.set(func(f *fakeEngine) { f.hits = []fakeHit{{ID: "new", Score: 1}} })
	if st, _, out := cacheState(t, url, `{"q":"x"}`); st != "hit" || hitIDs(t, out)[0] != "old" {
		t.Fatalf("before refresh: %q %v, want the cached old answer", st, hitIDs(t, out))
	}
	if st, _, out := cacheState(t, url, `{"q":"x"}`, "Cache-Control", "no-cache"); st != "miss" || hitIDs(t, out)[0] != "new" {
		t.Fatalf("no-cache: %q %v, want a miss with the new answer", st, hitIDs(t, out))
	}
	if st, _, out := cacheState(t, url, `{"q":"x"}`); st != "hit" || hitIDs(t, out)[0] != "new" {
		t.Fatalf("after refresh: %q %v, want a hit of the refreshed answer", st, hitIDs(t, out))
	}
	if st, _, _ := cacheState(t, url, `{"q":"z"}`, "Cache-Control", "no-store"); st != "bypass" {
		t.Fatalf("no-store: %q, want bypass", st)
	}
	if st, _, _ := cacheState(t, url, `{"q":"z"}`); st != "miss" {
		t.Fatalf("after no-store: %q, want miss (no-store filled the cache)", st)
	}
}

// TestCacheInvalidateByIndex: invalidating an index makes its answers
// misses at once; invalidating another index leaves them; invalidating
// with no index drops everything; a re-invalidation follows an
// asynchronous write's completion.
func TestCacheInvalidateByIndex(t *testing.T) {
	e := newFakeEngine(t, "meilisearch", fakeHit{ID: "a", Score: 1})
	url := startCaddy(t, cacheSite("cache", e))
	h := routeHandler(t, "cached")
	ctx := context.Background()
	step := func(name, want string) {
		t.Helper()
		if st, _, _ := cacheState(t, url, `{"q":"x"}`); st != want {
			t.Fatalf("%s: %q, want %q", name, st, want)
		}
	}
	step("fill", "miss")
	step("cached", "hit")
	if err := h.invalidate(ctx, "movies"); err != nil {
		t.Fatal(err)
	}
	step("after a write to another index", "hit")
	if err := h.invalidate(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
	step("after a write to docs", "miss")
	step("refilled", "hit")
	if err := h.invalidate(ctx); err != nil {
		t.Fatal(err)
	}
	step("after a write to unknown indexes", "miss")

	done := make(chan struct{})
	if err := h.invalidateWhenDone(ctx, []string{"docs"}, done); err != nil {
		t.Fatal(err)
	}
	step("while the write is pending", "miss")
	step("filled while pending", "hit")
	close(done)
	deadline := time.Now().Add(2 * time.Second)
	for {
		st, _, _ := cacheState(t, url, `{"q":"x"}`)
		if st == "miss" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an answer filled while the write was pending outlived its completion")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCacheStampede: concurrent identical misses make one fan-out.
func TestCacheStampede(t *testing.T) {
	e := newFakeEngine(t, "meilisearch", fakeHit{ID: "a", Score: 1})
	e.set(func(f *fakeEngine) { f.delay = 200 * time.Millisecond })
	url := startCaddy(t, cacheSite("coalesce off\n\t\tcache", e))
	var wg sync.WaitGroup
	states := make(chan string, 20)
	for range 20 {
		wg.Go(func() {
			st, _, _ := cacheState(t, url, `{"q":"x"}`)
			states <- st
		})
	}
	wg.Wait()
	close(states)
	for st := range states {
		if st != "miss" && st != "hit" {
			t.Errorf("Federate-Cache %q", st)
		}
	}
	if n := engineCalls(e); n != 1 {
		t.Errorf("20 concurrent identical searches made %d fan-outs, want 1", n)
	}
}

// TestCacheReload: a reload that keeps the route keeps its entries; one
// that changes the federation starts empty.
func TestCacheReload(t *testing.T) {
	e := newFakeEngine(t, "meilisearch", fakeHit{ID: "a", Score: 1})
	site := cacheSite("cache", e)
	port := fmt.Sprint(freePort(t))
	url := loadSite(t, port, site)
	cacheState(t, url, `{"q":"x"}`)
	reload := func(site string) {
		t.Helper()
		loadSite(t, port, site)
	}
	reload(site)
	if st, _, _ := cacheState(t, url, `{"q":"x"}`); st != "hit" {
		t.Fatalf("after reloading the same config: %q, want hit", st)
	}
	reload(strings.Replace(site, "merge rrf", "merge rrf 10", 1))
	if st, _, _ := cacheState(t, url, `{"q":"x"}`); st != "miss" {
		t.Fatalf("after changing the federation: %q, want miss", st)
	}
}

// TestCacheMultiSearch: a multi-search is cached as a whole.
func TestCacheMultiSearch(t *testing.T) {
	e := newFakeEngine(t, "meilisearch", fakeHit{ID: "a", Score: 1})
	url := startCaddy(t, "\tfederate {\n\t\tdialect typesense\n\t\tcache\n"+shardLine("s0", e, "\t\t\tdialect meilisearch")+"\n\t}")
	body := `{"searches":[{"collection":"docs","q":"x","query_by":"title"},{"collection":"other","q":"y","query_by":"title"}]}`
	for i, want := range []string{"miss", "hit"} {
		resp, _ := search(t, url+"/multi_search", body)
		if st := resp.Header.Get("Federate-Cache"); st != want || resp.StatusCode != 200 {
			t.Fatalf("multi-search %d: %q %d, want %q", i, st, resp.StatusCode, want)
		}
	}
}
