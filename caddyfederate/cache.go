package caddyfederate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/searchfront/caddy-federate/dialect"
)

// Defaults of the cache block.
const (
	defaultCacheTTL     = time.Minute
	defaultCacheMaxSize = 64 << 20
	defaultCacheTimeout = 50 * time.Millisecond
	// cacheRetryAfter is how long a failed shared store is left alone before
	// it is tried again: while it is down, searches skip it at no cost.
	cacheRetryAfter = time.Second
	// allIndexes is the generation every cached answer depends on: a write
	// whose indexes are unknown invalidates everything by bumping it.
	allIndexes = "*"
)

// CacheConfig is a route's response cache. Only complete answers (status
// 200, `Federate-Complete: true`) are cached; a write through a federate
// route over the same shards invalidates the answers of the indexes it
// touched before it is answered.
type CacheConfig struct {
	// How long an answer may be served from the cache after the fan-out
	// that produced it. Default: 1m.
	TTL caddy.Duration `json:"ttl,omitempty"`

	// Most bytes the memory store holds, counting each entry's answer, key,
	// generations and bookkeeping (see docs/cache.md for the per-entry
	// overhead); least recently used entries are evicted beyond it. An
	// answer larger than an eighth of it is not cached (with the redis
	// store too, where Redis's own `maxmemory` bounds the store). Default:
	// 64 MiB.
	MaxSize int64 `json:"max_size,omitempty"`

	// Where entries live: `memory` (this process) or `redis` (shared, with
	// their invalidations, by every Caddy instance that serves the same
	// federation with the same Redis). Default: `memory`.
	Store string `json:"store,omitempty"`

	// The Redis connection of the `redis` store.
	Redis *RedisConfig `json:"redis,omitempty"`

	// Longest a request waits on the store (a lookup, a fill, an
	// invalidation) before it goes on without the cache; a store that
	// failed is then skipped for a second. Default: 50ms.
	Timeout caddy.Duration `json:"timeout,omitempty"`
}

// responseCache is a provisioned CacheConfig of one Handler.
type responseCache struct {
	store   cacheStore
	ns      *cacheNamespace // generations and pending re-invalidations, shared across reloads
	poolKey string          // what Cleanup releases in cachePool
	route   string
	ttl     time.Duration
	timeout time.Duration
	maxItem int
	logger  *zap.Logger

	downUntil atomic.Int64 // unix nanos until which the store is skipped after a failure
	lastWarn  atomic.Int64 // unix nanos of the last warning logged

	mu      sync.Mutex
	pending map[string]bool // invalidations the store has not taken yet
	retry   bool            // a goroutine is retrying pending
	stop    chan struct{}   // closed by Cleanup: ends the retry goroutine
}

// provisionCache sets the cache up; fed and route identify the federation
// (its shards) and the route's whole config, computed before Provision
// changed anything.
func (h *Handler) provisionCache(ctx caddy.Context, fed, route string) error {
	cc := h.Cache
	if cc == nil {
		return nil
	}
	if cc.TTL <= 0 {
		cc.TTL = caddy.Duration(defaultCacheTTL)
	}
	if cc.MaxSize <= 0 {
		cc.MaxSize = defaultCacheMaxSize
	}
	if cc.Timeout <= 0 {
		cc.Timeout = caddy.Duration(defaultCacheTimeout)
	}
	c := &responseCache{route: h.name(), ttl: time.Duration(cc.TTL), timeout: time.Duration(cc.Timeout),
		maxItem: int(cc.MaxSize / 8), logger: h.logger, stop: make(chan struct{}), pending: map[string]bool{}}
	var err error
	switch cc.Store {
	case "", "memory":
		cc.Store = "memory"
		c.poolKey = "memory/" + route + "/" + strconv.FormatInt(cc.MaxSize, 10)
		c.ns, err = loadNamespace("memory/" + fed)
		if err != nil {
			return err
		}
		v, _, err := cachePool.LoadOrNew(c.poolKey, func() (caddy.Destructor, error) {
			return newMemStore(cc.MaxSize, c.route), nil
		})
		if err != nil {
			return err
		}
		c.store = v.(*memStore).with(c.ns)
	case "redis":
		if cc.Redis == nil || len(cc.Redis.Addresses) == 0 {
			return fmt.Errorf("federate: cache store redis needs an address: store redis <host:port | redis:// URL>")
		}
		rc, key, err := loadRedis(cc.Redis, c.timeout)
		if err != nil {
			return fmt.Errorf("federate: cache: %w", err)
		}
		c.poolKey = key
		if c.ns, err = loadNamespace(key + "/" + fed); err != nil {
			_, _ = cachePool.Delete(key)
			return err
		}
		c.store = newRedisStore(rc, cc.Redis.prefix(), fed, route, c.ns)
	default:
		return fmt.Errorf("federate: unknown cache store %q; use memory or redis", cc.Store)
	}
	h.cache = c
	h.writeHooks = append(h.writeHooks, h.invalidateWrite)
	return nil
}

// cleanup releases what provisionCache took from cachePool.
func (c *responseCache) cleanup() {
	close(c.stop)
	if c.poolKey != "" {
		_, _ = cachePool.Delete(c.poolKey)
	}
	if c.ns != nil {
		_, _ = cachePool.Delete(c.ns.key)
	}
}

// configHashes identifies what cached answers depend on: fed hashes the
// shards (the federation: routes over the same shards share invalidations)
// and route hashes the route's whole config but its cache block (answers
// of a changed route are not reused).
func (h *Handler) configHashes() (fed, route string, err error) {
	shards, err := json.Marshal(struct {
		D string
		S []*Shard
	}{h.Dialect, h.Shards})
	if err != nil {
		return "", "", err
	}
	c := *h
	c.Cache = nil
	all, err := json.Marshal(&c)
	if err != nil {
		return "", "", err
	}
	return shortHash(shards), shortHash(all), nil
}

func shortHash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:12])
}

// cacheDeps lists the generations an answer to qs depends on: every
// index the client named, every index a shard pins, and allIndexes.
func (h *Handler) cacheDeps(qs ...*dialect.Query) []string {
	deps := []string{allIndexes}
	for _, q := range qs {
		if q != nil && q.Index != "" {
			deps = append(deps, q.Index)
		}
	}
	for _, s := range h.Shards {
		if s.Index != "" {
			deps = append(deps, indexName(s.Index))
		}
	}
	sort.Strings(deps[1:])
	out := deps[:1]
	for _, d := range deps[1:] {
		if d != out[len(out)-1] {
			out = append(out, d)
		}
	}
	return out
}

// indexName is the index of a shard's index option, without the parameters
// an operator may pin after a '?'.
func indexName(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i]
	}
	return s
}

// cacheKey identifies the answer a request gets: what tenant-safe
// coalescing separates (requestKey), with three exceptions that cannot
// change a shard request. The listening port is left out of the host, so
// that instances listening on different ports under one host name share
// entries, and the client's port out of its address, unless a shard config
// references a port placeholder; Cache-Control and Pragma are left out, so
// that a no-cache request refreshes the entry the others read.
func (h *Handler) cacheKey(r *http.Request, body []byte) string {
	kr := new(http.Request)
	*kr = *r
	if !h.keyNeedsPort() {
		kr.Host = hostOnly(r.Host)
		kr.RemoteAddr = hostOnly(r.RemoteAddr)
	}
	if r.Header.Get("Cache-Control") != "" || r.Header.Get("Pragma") != "" {
		kr.Header = r.Header.Clone()
		kr.Header.Del("Cache-Control")
		kr.Header.Del("Pragma")
	}
	s := sha256.Sum256([]byte(h.requestKey(kr, body)))
	return hex.EncodeToString(s[:])
}

// keyNeedsPort reports whether a shard config references a placeholder
// that holds a port ({http.request.port}, {http.request.hostport},
// {http.request.remote}, {http.request.remote.port}).
func (h *Handler) keyNeedsPort() bool {
	if h.key == nil {
		return true
	}
	for _, ph := range h.key.placeholders {
		if strings.Contains(ph, "port") || ph == "http.request.remote" {
			return true
		}
	}
	return false
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// serveCached answers from the cache, or runs the fan-out (once for all
// identical requests) and caches its answer when it is complete.
func (h *Handler) serveCached(w http.ResponseWriter, r *http.Request, body []byte, deps []string, run func(context.Context) *answer) error {
	c := h.cache
	key := h.cacheKey(r, body)
	refresh := noCache(r.Header)
	usable := !noStore(r.Header) && c.usable()
	var gens []string
	if usable {
		lookupKey := key
		if refresh {
			lookupKey = ""
		}
		e, g, err := c.lookup(r.Context(), lookupKey, deps)
		switch {
		case err != nil:
			usable = false
		case e != nil && !refresh:
			if age, ok := c.fresh(e, g); ok {
				cacheHits.WithLabelValues(c.route).Inc()
				w.Header().Set("Federate-Cache", "hit")
				w.Header().Set("Age", strconv.FormatInt(int64(age/time.Second), 10))
				return h.write(w, &answer{status: http.StatusOK, body: e.body, complete: "true"})
			}
		}
		gens = g
	}
	fill := func(ctx context.Context) *answer {
		ans := run(ctx)
		if usable && c.cacheable(ans) {
			c.fill(key, gens, ans)
			ans.pooled = false // the cache keeps the body
		}
		return ans
	}
	// The generations are in the flight's key: a request that arrives after
	// a write's invalidation never shares a fan-out that began before it.
	fk := "cache\x00" + key + "\x00" + strings.Join(gens, "\x00")
	if refresh {
		fk += "\x00refresh"
	}
	ans, done := h.flights.do(r.Context(), fk, fill, h.name())
	defer done()
	if r.Context().Err() != nil || ans == nil {
		return caddyhttp.Error(499, r.Context().Err())
	}
	state := "miss"
	if !usable || !c.cacheable(ans) {
		state = "bypass"
		cacheBypass.WithLabelValues(c.route).Inc()
	} else {
		cacheMisses.WithLabelValues(c.route).Inc()
	}
	w.Header().Set("Federate-Cache", state)
	return h.write(w, ans)
}

// noCache reports whether the client asked for a fresh answer.
func noCache(hdr http.Header) bool {
	for _, v := range hdr.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			d = strings.ToLower(strings.TrimSpace(d))
			if d == "no-cache" || d == "max-age=0" {
				return true
			}
		}
	}
	return hdr.Get("Pragma") == "no-cache"
}

// noStore reports whether the client asked that its answer not be stored.
func noStore(hdr http.Header) bool {
	for _, v := range hdr.Values("Cache-Control") {
		if strings.Contains(strings.ToLower(v), "no-store") {
			return true
		}
	}
	return false
}

// cacheable reports whether ans may be stored.
func (c *responseCache) cacheable(ans *answer) bool {
	return ans != nil && ans.status == http.StatusOK && ans.complete == "true" && len(ans.body) <= c.maxItem
}

// fresh reports whether e may be served under the current generations, and
// its age.
func (c *responseCache) fresh(e *cacheEntry, gens []string) (time.Duration, bool) {
	age := max(time.Since(e.created), 0)
	if age >= c.ttl || len(e.gens) != len(gens) {
		return 0, false
	}
	for i := range gens {
		if e.gens[i] != gens[i] {
			return 0, false
		}
	}
	return age, true
}

// usable reports whether the store may be used now: it has not failed in
// the last second, and this instance has taken every invalidation.
func (c *responseCache) usable() bool {
	if time.Now().UnixNano() < c.downUntil.Load() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) == 0
}

// lookup reads the entry under key ("" for none) and the generations of
// deps, within the cache timeout.
func (c *responseCache) lookup(ctx context.Context, key string, deps []string) (*cacheEntry, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	e, gens, err := c.store.lookup(ctx, key, deps)
	if err != nil {
		c.failed("lookup", err)
	}
	return e, gens, err
}

// fill stores a complete answer under the generations read before its
// fan-out began: if a write bumped one since, the entry is never served.
func (c *responseCache) fill(key string, gens []string, ans *answer) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	e := &cacheEntry{created: time.Now(), gens: gens, body: ans.body}
	if err := c.store.fill(ctx, key, e, c.ttl); err != nil {
		c.failed("fill", err)
	}
}

// failed counts a store failure, logs it (at most once a second) and skips
// the store for cacheRetryAfter.
func (c *responseCache) failed(op string, err error) {
	cacheErrors.WithLabelValues(c.route, op).Inc()
	now := time.Now().UnixNano()
	c.downUntil.Store(now + int64(cacheRetryAfter))
	if last := c.lastWarn.Load(); now-last >= int64(time.Second) && c.lastWarn.CompareAndSwap(last, now) {
		c.logger.Warn("cache store failed; serving uncached", zap.String("route", c.route), zap.String("op", op),
			zap.Duration("skipped_for", cacheRetryAfter), zap.Error(err))
	}
}
