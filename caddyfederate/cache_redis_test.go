package caddyfederate

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// startRedis runs a private redis-server (Debian package redis-server) on
// a free port, without persistence, and returns its address. Without the
// binary the test is skipped, except under CI, where setup installs it.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed: integration/scripts/setup.sh installs it")
		}
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	port := freePort(t)
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(5 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// twoRedisStores are two instances' stores of one federation and route,
// each with its own client, as two Caddy processes would have.
func twoRedisStores(t *testing.T, addr string) (*redisStore, *redisStore) {
	t.Helper()
	var s [2]*redisStore
	for i := range s {
		c, err := newRedisClient([]string{addr}, "", "", 0, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		s[i] = newRedisStore(c, "test:", "fed", "route", nil)
	}
	return s[0], s[1]
}

// TestRedisStoreSharedAndInvalidated: an entry one instance fills the
// other reads; once one instance bumped an index, the other sees new
// generations at its next lookup, so the entry is never served again.
func TestRedisStoreSharedAndInvalidated(t *testing.T) {
	a, b := twoRedisStores(t, startRedis(t))
	ctx := context.Background()
	deps := []string{allIndexes, "docs"}
	_, gens, err := a.lookup(ctx, "k", deps)
	if err != nil {
		t.Fatal(err)
	}
	c := &responseCache{ttl: time.Minute}
	if err := a.fill(ctx, "k", &cacheEntry{created: time.Now(), gens: gens, body: []byte(`{"hits":[]}`)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	e, gensB, err := b.lookup(ctx, "k", deps)
	if err != nil || e == nil {
		t.Fatalf("instance b: entry %v, error %v", e, err)
	}
	if _, ok := c.fresh(e, gensB); !ok || string(e.body) != `{"hits":[]}` {
		t.Fatalf("instance b does not serve a's entry: gens %v vs %v", e.gens, gensB)
	}
	if err := a.bump(ctx, []string{"other"}); err != nil {
		t.Fatal(err)
	}
	e, gensB, _ = b.lookup(ctx, "k", deps)
	if _, ok := c.fresh(e, gensB); !ok {
		t.Fatal("a write to another index invalidated the entry")
	}
	if err := a.bump(ctx, []string{"docs"}); err != nil {
		t.Fatal(err)
	}
	e, gensB, _ = b.lookup(ctx, "k", deps)
	if _, ok := c.fresh(e, gensB); ok {
		t.Fatal("instance b serves an entry instance a invalidated")
	}
	// Losing the generations (eviction, FLUSHALL) never revives an entry.
	_, gens, _ = a.lookup(ctx, "k2", deps)
	_ = a.fill(ctx, "k2", &cacheEntry{created: time.Now(), gens: gens, body: []byte("{}")}, time.Minute)
	if err := a.c.Del(ctx, a.gens).Err(); err != nil {
		t.Fatal(err)
	}
	e, gensB, _ = b.lookup(ctx, "k2", deps)
	if _, ok := c.fresh(e, gensB); e == nil || ok {
		t.Fatalf("after the generations were lost: entry %v served %v, want present but not served", e != nil, ok)
	}
}

// TestRedisDownFailsOpen: with Redis unreachable, searches are answered
// uncached (bypass) within their deadline, the failure is counted, and the
// store is skipped for a second instead of being waited on each time.
func TestRedisDownFailsOpen(t *testing.T) {
	e := newFakeEngine(t, "meilisearch", fakeHit{ID: "a", Score: 1})
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	url := startCaddy(t, cacheSite("cache {\n\t\t\tstore redis "+dead+"\n\t\t\ttimeout 30ms\n\t\t}", e))
	before := counterValue(t, cacheErrors.WithLabelValues("cached", "lookup"))
	for i := 0; i < 5; i++ {
		start := time.Now()
		st, resp, _ := cacheState(t, url, `{"q":"x"}`)
		if resp.StatusCode != 200 || st != "bypass" {
			t.Fatalf("search %d with Redis down: %d %q, want 200 bypass", i, resp.StatusCode, st)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("search %d took %v with Redis down", i, d)
		}
	}
	if n := counterValue(t, cacheErrors.WithLabelValues("cached", "lookup")) - before; n != 1 {
		t.Errorf("%v lookup failures counted, want 1 (the store is skipped for a second after one)", n)
	}
}

// TestRedisCacheThroughCaddy: two routes (two instances' worth of
// handlers, on two listening ports) over one Redis share entries: a fill
// through one is a hit through the other.
func TestRedisCacheThroughCaddy(t *testing.T) {
	addr := startRedis(t)
	e := newFakeEngine(t, "meilisearch", fakeHit{ID: "a", Score: 1})
	block := "cache {\n\t\t\ttimeout 2s\n\t\t\tstore redis redis://" + addr + "/0 {\n\t\t\t\tkey_prefix t1:\n\t\t\t}\n\t\t}"
	url := loadSite(t, fmt.Sprint(freePort(t)), cacheSite(block, e))
	if st, _, _ := cacheState(t, url, `{"q":"x"}`, "Host", "search.example"); st != "miss" {
		t.Fatalf("first: %q", st)
	}
	// Another instance: same config on another port (the first is replaced).
	url = loadSite(t, fmt.Sprint(freePort(t)), cacheSite(block, e))
	if st, _, _ := cacheState(t, url, `{"q":"x"}`, "Host", "search.example"); st != "hit" {
		t.Fatalf("through another port: %q, want hit", st)
	}
	if err := routeHandler(t, "cached").invalidate(context.Background(), "docs"); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := cacheState(t, url, `{"q":"x"}`, "Host", "search.example"); st != "miss" {
		t.Fatalf("after invalidation: %q, want miss", st)
	}
}
