package caddyfederate

import (
	"encoding/json"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/searchfront/caddy-federate/dialect"
	"github.com/searchfront/caddy-federate/health"
)

// defaultIdleConnsPerHost replaces Go's and Caddy's per-host idle pool
// (2, or 32 with Caddy's defaults) on shard transports whose keepalive
// block does not set it: a fan-out opens one connection per shard per
// concurrent request, and a small pool turns load into new TCP handshakes.
const defaultIdleConnsPerHost = 256

// Shard is one group of replicas that holds part of the data. It is served
// through its own reverse_proxy handler, so every reverse_proxy feature
// (upstreams as replicas, lb_policy, retries, health checks, TLS, header
// manipulation, dynamic upstreams) works per shard.
type Shard struct {
	// The shard's name, used in per-shard status reports, `require` and
	// metrics. Required and unique within the route.
	Name string `json:"name"`

	// How this shard's engine talks. Default: the route's dialect.
	Dialect string `json:"dialect,omitempty"`

	// The engine's index or collection, pinned: clients cannot name
	// another. It builds the upstream path for the dialect (Meilisearch
	// `/indexes/{index}/search`, Elasticsearch `/{index}/_search`). For
	// solr, typesense and groonga it may carry request parameters after a
	// `?` (`docs?query_by=title&filter_by=tenant:=acme`): they are
	// enforced, not defaults; the client's filter is combined with the
	// shard's (`fq`, `filter_by`, `filter`) so both must hold, and any
	// other parameter replaces the client's. Default: the index the client
	// named, validated (see allow_indexes).
	Index string `json:"index,omitempty"`

	// When the shard has no `index`: the indexes a client may name, each
	// an exact name or a prefix ending in `*` (`acme-*`). Another name is
	// answered 404. Whatever this allows, a client's index must be a
	// plain name (letters, digits, `-`, `_`, `.`, not starting with `.`,
	// `_` or `-`: no hidden, system, remote, wildcard or list names).
	// Default: any plain name.
	AllowIndexes []string `json:"allow_indexes,omitempty"`

	// The shard's weight in fusion. Default: 1.
	Weight float64 `json:"weight,omitempty"`

	// Deadline of this shard's answer, capped by the route's timeout.
	// Default: the route's timeout.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// Send the client's credentials to this shard: the Authorization,
	// Proxy-Authorization and Cookie headers, the engines' API-key headers
	// (X-Meili-API-Key, X-TYPESENSE-API-KEY, X-Api-Key, ...) and API-key
	// query parameters (x-typesense-api-key). Without it they are removed
	// from the shard request; the shard's own `header_up` (e.g. an
	// operator key) still applies. Default: false.
	ForwardCredentials bool `json:"forward_credentials,omitempty"`

	// Hedged requests to a second replica; nil means off.
	Hedge *HedgeConfig `json:"hedge,omitempty"`

	// How to talk to an engine of the generic `json` dialect: request
	// template and JSON pointers into its answer. Required when dialect is
	// `json`, ignored otherwise.
	JSON *dialect.JSONConfig `json:"json,omitempty"`

	// The reverse_proxy handler that reaches this shard's replicas, in
	// reverse_proxy's own JSON form (`{"handler": "reverse_proxy", ...}`).
	ProxyRaw json.RawMessage `json:"proxy,omitempty" caddy:"namespace=http.handlers inline_key=handler"`

	proxy   caddyhttp.MiddlewareHandler
	rp      *reverseproxy.Handler // the same handler, when it is a reverse_proxy
	dialect dialect.Dialect
	index   int             // position in the route's config
	tracker *health.Tracker // latency history, shared across reloads by trackerKey
	budget  *health.Budget  // hedge tokens; nil allows every hedge
	dynamic *poolRecorder   // the dynamic upstreams last chosen from; nil without dynamic upstreams

	caddyfileProxy *reverseproxy.Handler // parsed from a Caddyfile, until parseCaddyfile finalizes it
	// last failure, for the admin API
	failures *lastFailure
	series   shardSeries // the shard's metric series, looked up once
}

// seriesStatuses are the statuses a shard call can end with, in the order
// of shardSeries.requests.
var seriesStatuses = [...]dialect.Status{dialect.StatusOK, dialect.StatusTimeout, dialect.StatusError,
	dialect.StatusUnavailable, dialect.StatusInvalid}

// shardSeries holds a shard's metric series. WithLabelValues hashes its
// labels and takes a lock on every call; the route and shard names are
// fixed per config, so each series is looked up once, in provision. The
// collectors are package-level and never reset, so the series outlive a
// reload with their counts.
type shardSeries struct {
	requests  [len(seriesStatuses)]prometheus.Counter
	duration  prometheus.Observer
	available prometheus.Gauge
}

func newShardSeries(route, shard string) shardSeries {
	var ss shardSeries
	for i, st := range seriesStatuses {
		ss.requests[i] = shardRequests.WithLabelValues(route, shard, string(st))
	}
	ss.duration = shardDuration.WithLabelValues(route, shard)
	ss.available = upstreamsAvailable.WithLabelValues(route, shard)
	return ss
}

// observe counts one shard outcome (as observeShard, from the series
// looked up in provision).
func (s *Shard) observe(route string, rep dialect.ShardReport) {
	if rep.Status == dialect.StatusSkipped {
		return
	}
	if s.series.duration == nil { // not provisioned (tests that build a Shard by hand)
		observeShard(route, s.Name, rep)
		return
	}
	for i, st := range seriesStatuses {
		if st == rep.Status {
			s.series.requests[i].Inc()
			s.series.duration.Observe(rep.Took.Seconds())
			return
		}
	}
	observeShard(route, s.Name, rep)
}

func (s *Shard) provision(ctx caddy.Context, h *Handler, index int) error {
	s.index = index
	s.failures = new(lastFailure)
	s.series = newShardSeries(h.name(), s.Name)
	if s.Weight < 0 {
		return fmt.Errorf("weight must not be negative, got %v", s.Weight)
	}
	if s.Weight == 0 {
		s.Weight = 1
	}
	if s.Timeout <= 0 || s.Timeout > h.Timeout {
		s.Timeout = h.Timeout
	}
	name := s.Dialect
	if name == "" {
		name = h.Dialect
	}
	d, err := shardDialect(name, s.JSON)
	if err != nil {
		return err
	}
	s.dialect = d
	if s.Index != "" && len(s.AllowIndexes) > 0 {
		return fmt.Errorf("index pins one index and allow_indexes lets clients choose: set one of them")
	}
	if s.ProxyRaw == nil {
		return fmt.Errorf("no upstreams: give the shard at least one upstream address, e.g. `shard %s 127.0.0.1:7700`", s.Name)
	}
	mod, err := ctx.LoadModule(s, "ProxyRaw")
	if err != nil {
		return fmt.Errorf("loading its proxy: %w", err)
	}
	mh, ok := mod.(caddyhttp.MiddlewareHandler)
	if !ok {
		return fmt.Errorf("proxy module %T is not an HTTP handler", mod)
	}
	s.proxy = mh
	if rp, ok := mod.(*reverseproxy.Handler); ok {
		s.rp = rp
		widenIdlePool(rp)
		// Hedges must reach another replica: the wrapper skips the
		// upstreams an attempt's context excludes, and records picks.
		rp.LoadBalancing.SelectionPolicy = health.Wrap(rp.LoadBalancing.SelectionPolicy)
		s.recordDynamicPool(rp)
	}
	if s.tracker, err = health.Acquire(s.trackerKey()); err != nil {
		return err
	}
	if s.Hedge != nil {
		pct := s.Hedge.Budget
		if pct == 0 {
			pct = defaultHedgeBudget
		}
		s.budget = health.NewBudget(pct, 0)
	}
	return nil
}

// cleanup releases the shard's latency history.
func (s *Shard) cleanup() {
	if s.tracker != nil {
		_ = health.Release(s.trackerKey())
	}
}

// closeIdleConnections closes the idle connections of the shard's
// transport (HTTP/1.1 and HTTP/2 pools); requests in flight keep theirs.
func (s *Shard) closeIdleConnections() {
	if s.rp == nil {
		return
	}
	if ht, ok := s.rp.Transport.(*reverseproxy.HTTPTransport); ok && ht.Transport != nil {
		ht.Transport.CloseIdleConnections()
		return
	}
	if c, ok := s.rp.Transport.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// shardDialect finds the named dialect; `json` is built from its config.
func shardDialect(name string, cfg *dialect.JSONConfig) (dialect.Dialect, error) {
	if name == "json" {
		if cfg == nil {
			return nil, fmt.Errorf("dialect json needs a json block: path, hits and the pointers to id and score")
		}
		return dialect.NewJSON(*cfg)
	}
	d, ok := dialect.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown dialect %q; use one of %v or json", name, dialect.Names())
	}
	return d, nil
}

// widenIdlePool raises the idle connections kept per upstream host unless
// the user set keepalive_idle_conns_per_host. The transport is already
// built by Provision, so the change goes to the built *http.Transport.
func widenIdlePool(rp *reverseproxy.Handler) {
	ht, ok := rp.Transport.(*reverseproxy.HTTPTransport)
	if !ok || ht.Transport == nil {
		return
	}
	if ht.KeepAlive != nil && ht.KeepAlive.MaxIdleConnsPerHost != 0 {
		return
	}
	ht.Transport.MaxIdleConnsPerHost = defaultIdleConnsPerHost
}
