package caddyfederate

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/searchfront/caddy-federate/dialect"
	"github.com/searchfront/caddy-federate/merge"
)

func init() {
	caddy.RegisterModule(Handler{})
	httpcaddyfile.RegisterHandlerDirective("federate", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("federate", httpcaddyfile.Before, "reverse_proxy")
}

// Defaults of the route options.
const (
	defaultTimeout         = 2 * time.Second
	defaultMaxWindow       = 1000
	defaultMaxRequestBody  = 1 << 20
	defaultMaxResponseSize = 8 << 20
	defaultRRFK            = 60
	defaultDepth           = 100
	autoRefreshInterval    = 5 * time.Second
	// idleCloseRetry is when a released config closes its shards' idle
	// connections a second time (see closeIdle).
	idleCloseRetry = time.Second
)

// Handler is a federated-search front: it decodes one search request in the
// route's dialect, sends it to every shard through that shard's own
// reverse_proxy, and merges the answers as one search engine would (rank
// fusion, duplicates removed, totals and facets summed, an exact page). It
// reports every shard's outcome in the client's dialect, with a
// `Federate-Complete` header, and answers 503 when fewer shards than the
// quorum succeeded.
type Handler struct {
	// The route's name in metrics, logs and the admin API. Default:
	// `federate`.
	Name string `json:"name,omitempty"`

	// How clients talk to this route: `meilisearch`, `elasticsearch`,
	// `opensearch`, `solr`, `typesense`, `groonga` or `federate`.
	// Default: `federate`.
	Dialect string `json:"dialect,omitempty"`

	// How shard answers are fused. Default: `auto` (raw scores when the
	// shards' recent score distributions match, scores calibrated against
	// each shard's recent history when they differ but overlap, RRF with
	// k = 60 when they do not overlap and until enough answers were seen).
	Merge *MergeConfig `json:"merge,omitempty"`

	// The document field duplicates are recognised by across shards, or
	// `off` to keep every copy. Default: the shard dialect's document id
	// (Meilisearch `id`, Elasticsearch `_id`).
	Dedupe string `json:"dedupe,omitempty"`

	// Page size when the client gives none. Default: the client dialect's
	// own (Meilisearch 20, Elasticsearch 10).
	Limit int `json:"limit,omitempty"`

	// Largest offset+limit a client may ask for; every shard is asked for
	// offset+limit hits, so this bounds the work of one request. Above it
	// the request is answered 400. Default: 1000.
	MaxWindow int `json:"max_window,omitempty"`

	// Deadline of the whole request. Shards that have not answered by then
	// are reported `timeout`. Default: 2s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// Fewest shards that must answer `ok`; fewer is a 503. Default: 1.
	MinShards int `json:"min_shards,omitempty"`

	// Shards that must answer `ok`, else the request is a 503.
	Require []string `json:"require,omitempty"`

	// Largest client request body in bytes; above it the request is a 413.
	// Default: 1 MiB.
	MaxRequestBody int64 `json:"max_request_body,omitempty"`

	// Largest shard answer in bytes; a larger answer marks that shard
	// `invalid`. Default: 8 MiB.
	MaxResponseSize int64 `json:"max_response_size,omitempty"`

	// The same as `writes broadcast` (kept for older configs): every write
	// endpoint of the client's dialect is sent to every replica of every
	// shard. Default: false.
	Broadcast bool `json:"broadcast,omitempty"`

	// Tell clients each failed shard's full reason and the replica that
	// answered: upstream addresses, dial errors, the start of an
	// upstream's error body. For debugging: by default clients get a
	// generic reason (timeout, connection failed, upstream status class,
	// invalid answer) and no addresses; the full reason is always in the
	// logs and the admin API (/federate/status). Default: false.
	ExposeShardErrors bool `json:"expose_shard_errors,omitempty"`

	// Whether and how the route serves its dialect's write endpoints
	// (documents, deletes, settings, indexes, Meilisearch tasks). A write
	// route changes data: put authentication in front of it. Default:
	// off (searches only).
	Writes *WritesConfig `json:"writes,omitempty"`

	// Share one fan-out among concurrent requests whose shard requests
	// would be identical: same route, method, Host, path, query, body,
	// every request header but a documented few that cannot change an
	// answer (Accept-Encoding, Content-Length, Expect, User-Agent,
	// Traceparent, Tracestate, X-Request-Id, unless a shard config names
	// them), the vars and authenticated user earlier handlers set, every
	// placeholder the shard configs reference, and the client address when
	// a shard config depends on it. Default: true.
	Coalesce *bool `json:"coalesce,omitempty"`

	// Cache complete answers, coherent with writes through federate routes
	// over the same shards; see CacheConfig. Default: off.
	Cache *CacheConfig `json:"cache,omitempty"`

	// The shards, in priority order: when fused scores tie, the hit of the
	// shard listed first wins.
	Shards []*Shard `json:"shards,omitempty"`

	// Bounds on the work of one request and of the route (limits.go).
	Limits

	client    dialect.Dialect
	mergeOpts merge.Options
	required  []int // indexes into Shards
	logger    *zap.Logger
	answered  *answerSeries // the route's caddy_federate_answers_total series
	stop      chan struct{} // closed by Cleanup; ends the auto refresher
	flights   *flights      // in-flight fan-outs for coalescing
	key       *keySpec      // what requestKey holds beyond the request
	cache     *responseCache
	writes    *writeState // nil: the route serves no writes
	// writeHooks are told of every write (see WriteHook).
	writeHooks []WriteHook

	// Shard calls still running, and whether Cleanup has run: Caddy
	// cleans a replaced config up while its last requests are still in
	// flight (the http app does not wait for servers to drain before the
	// old context is cancelled), and the connections those requests hand
	// back to the pool would idle until the transport's idle timeout. The
	// last call to finish after Cleanup closes them (see callDone).
	calls *calls
}

// calls counts a Handler's shard calls in flight (a pointer in Handler,
// which Caddy copies by value).
type calls struct {
	inflight atomic.Int64
	closed   atomic.Bool
}

// MergeConfig selects the fusion strategy.
type MergeConfig struct {
	// The strategy: `auto`, `rrf` (reciprocal rank fusion), `rrf_z`,
	// `calibrated` (each score mapped through its shard's recent score
	// distribution; RRF until every shard has history), `rrf_calibrated`
	// (RRF moved by the calibrated scores), `score`, `raw` or
	// `interleave`. Default: `auto`.
	Strategy string `json:"strategy,omitempty"`

	// RRF's constant k: score = Σ weight / (k + rank). Default: 60.
	K float64 `json:"k,omitempty"`

	// Per-shard score normalizer for `score`: `minmax`, `zscore`, `l2`,
	// `max` or `none`. Default: `minmax`.
	Normalizer string `json:"normalizer,omitempty"`

	// How `score` combines a duplicate's per-shard scores: `sum` (CombSUM)
	// or `mnz` (CombMNZ: the sum times the number of shards that returned
	// it). Default: `sum`.
	Combine string `json:"combine,omitempty"`

	// For `auto`: the operator's word that every shard runs the same engine
	// and scorer over a random split of the data, so raw scores are always
	// comparable. Default: false (auto decides from recent answers).
	Homogeneous bool `json:"homogeneous,omitempty"`

	// How the documents are spread over the shards: `hash` (one
	// collection spread evenly, as by a hash of the id) or `topical` (each
	// shard holds its own part: a section, a source, a tenant, a kind of
	// document). On `topical`, `rrf_calibrated` (which `auto` applies to
	// shards of unrelated engines) gives the calibrated scores a share of
	// 0.4 instead of 0.1, so the shard that answers far above its usual
	// level, the one holding the query's topic, moves up further. Nothing
	// in the answers tells the two apart, hence the declaration. Other
	// strategies ignore it. Default: `hash`.
	Split string `json:"split,omitempty"`

	// How many top hits per shard the score statistics of `score`, `rrf_z`
	// and `auto` are taken over; every shard is asked for at least this
	// many hits (capped by max_window) so a hit's fused score does not
	// change with the page. Default: 100.
	Depth int `json:"depth,omitempty"`

	// Most values kept per facet after merging. Default: 100.
	MaxFacetValues int `json:"max_facet_values,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.federate",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision loads every shard's reverse_proxy and resolves the defaults.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.flights = new(flights)
	h.calls = new(calls)
	fed, route, err := h.configHashes()
	if err != nil {
		return fmt.Errorf("federate: hashing the config: %w", err)
	}
	if err := registerMetrics(ctx); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	h.answered = newAnswerSeries(h.name())
	if h.Dialect == "" {
		h.Dialect = "federate"
	}
	d, ok := dialect.Lookup(h.Dialect)
	if !ok {
		return fmt.Errorf("unknown dialect %q; use one of %v", h.Dialect, dialect.Names())
	}
	h.client = d
	if h.Timeout <= 0 {
		h.Timeout = caddy.Duration(defaultTimeout)
	}
	if h.MaxWindow <= 0 {
		h.MaxWindow = defaultMaxWindow
	}
	if h.MinShards <= 0 {
		h.MinShards = 1
	}
	if h.MaxRequestBody <= 0 {
		h.MaxRequestBody = defaultMaxRequestBody
	}
	if h.MaxResponseSize <= 0 {
		h.MaxResponseSize = defaultMaxResponseSize
	}
	if err := h.provisionMerge(); err != nil {
		return err
	}
	if err := h.provisionLimits(); err != nil {
		return err
	}
	for i, s := range h.Shards {
		if err := s.provision(ctx, h, i); err != nil {
			return fmt.Errorf("shard %q: %w", s.Name, err)
		}
	}
	if err := h.provisionWrites(); err != nil {
		return err
	}
	for _, name := range h.Require {
		i := h.shardIndex(name)
		if i < 0 {
			return fmt.Errorf("require names shard %q, which is not configured", name)
		}
		h.required = append(h.required, i)
	}
	if err := h.provisionCache(ctx, fed, route); err != nil {
		return err
	}
	// Started last: nothing after it can fail, so Cleanup always stops it.
	if h.mergeOpts.Auto != nil {
		h.stop = make(chan struct{})
		go refreshAuto(h.mergeOpts.Auto, h.stop)
	}
	h.provisionKey()
	registerRoute(h)
	return nil
}

func (h *Handler) provisionMerge() error {
	mc := h.Merge
	if mc == nil {
		mc = &MergeConfig{}
	}
	o := merge.Options{
		Strategy:       merge.Strategy(mc.Strategy),
		K:              mc.K,
		Normalizer:     merge.Normalizer(mc.Normalizer),
		Combine:        merge.Combine(mc.Combine),
		Depth:          mc.Depth,
		MaxFacetValues: mc.MaxFacetValues,
		Dedupe:         h.Dedupe != "off",
	}
	switch o.Strategy {
	case "":
		// Measured on the Debian archive (integration/cmd/quality): raw
		// wins by 0.08–0.15 overlap@10 on same-engine fleets, calibrated
		// on fleets of related scorers (BM25 next to TF-IDF), RRF on
		// unrelated engines; auto picks between them.
		o.Strategy = merge.AutoChoice
	case merge.RRF, merge.RRFZ, merge.Score, merge.Raw, merge.Interleave, merge.AutoChoice, merge.Calibrated, merge.RRFCalibrated:
	default:
		return fmt.Errorf("unknown merge strategy %q; use auto, rrf, rrf_z, calibrated, rrf_calibrated, score, raw or interleave", mc.Strategy)
	}
	switch o.Normalizer {
	case "", merge.MinMax, merge.ZScore, merge.L2, merge.Max, merge.None:
	default:
		return fmt.Errorf("unknown normalizer %q; use minmax, zscore, l2, max or none", mc.Normalizer)
	}
	switch o.Combine {
	case "", merge.Sum, merge.MNZ:
	default:
		return fmt.Errorf("unknown combine %q; use sum or mnz", mc.Combine)
	}
	switch mc.Split {
	case "", "hash":
	case "topical":
		if mc.Homogeneous {
			return fmt.Errorf("merge homogeneous declares one collection spread by hash, split topical the opposite; keep the one that is true")
		}
		o.Topical = true
	default:
		return fmt.Errorf("unknown merge split %q; use hash or topical", mc.Split)
	}
	if o.K == 0 {
		o.K = defaultRRFK
	}
	if o.K < 0 || o.Depth < 0 || o.MaxFacetValues < 0 {
		return fmt.Errorf("merge k, depth and max_facet_values must not be negative")
	}
	if o.Depth == 0 {
		o.Depth = defaultDepth
	}
	if o.Strategy == merge.AutoChoice || o.Strategy == merge.Calibrated || o.Strategy == merge.RRFCalibrated {
		// calibrated reads the score history auto keeps.
		o.Auto = merge.NewAuto(mc.Homogeneous)
	}
	h.mergeOpts = o
	return nil
}

// refreshAuto reruns auto's distribution test off the request path until
// the config is unloaded.
func refreshAuto(a *merge.Auto, stop <-chan struct{}) {
	t := time.NewTicker(autoRefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			a.Refresh()
		case <-stop:
			return
		}
	}
}

// usesScores reports whether the strategy takes score statistics over the
// top Depth hits of each shard.
func (h *Handler) usesScores() bool {
	switch h.mergeOpts.Strategy {
	case merge.Score, merge.RRFZ:
		return true
	}
	return false
}

// Validate checks the parts of the config that need all of it.
func (h *Handler) Validate() error {
	if len(h.Shards) == 0 {
		return fmt.Errorf("no shards configured; add at least one `shard NAME <upstream>`")
	}
	seen := make(map[string]bool, len(h.Shards))
	for _, s := range h.Shards {
		if s.Name == "" {
			return fmt.Errorf("every shard needs a name")
		}
		if seen[s.Name] {
			return fmt.Errorf("shard %q is defined twice", s.Name)
		}
		seen[s.Name] = true
	}
	if h.MinShards > len(h.Shards) {
		return fmt.Errorf("min_shards %d is more than the %d shards configured", h.MinShards, len(h.Shards))
	}
	if h.Limit < 0 || h.Limit > h.MaxWindow {
		return fmt.Errorf("limit %d must be between 1 and max_window (%d)", h.Limit, h.MaxWindow)
	}
	return nil
}

// Cleanup releases what Provision acquired. The shards' reverse_proxy
// handlers were loaded with ctx.LoadModule, so Caddy cleans them up itself.
func (h *Handler) Cleanup() error {
	unregisterRoute(h)
	if h.cache != nil {
		h.cache.cleanup()
	}
	h.cleanupWrites()
	if h.stop != nil {
		close(h.stop)
	}
	for _, s := range h.Shards {
		s.cleanup()
	}
	if h.calls == nil { // Provision did not get that far
		return nil
	}
	h.calls.closed.Store(true)
	if h.calls.inflight.Load() == 0 {
		h.closeIdle()
	}
	return nil
}

// callStart counts a shard call that is about to run; every callStart is
// matched by one callDone when the call has returned.
func (h *Handler) callStart() { h.calls.inflight.Add(1) }

// callDone ends a shard call. The last call of a config that Cleanup has
// already released closes the shards' idle connections, which would
// otherwise keep two goroutines each (and a socket on the engine) until
// the idle timeout.
func (h *Handler) callDone() {
	if h.calls.inflight.Add(-1) == 0 && h.calls.closed.Load() {
		h.closeIdle()
	}
}

// closeIdle closes the idle upstream connections of every shard, now and
// once more a moment later: Go's transport puts a connection back in its
// pool just after the response body has been read, which can be after the
// call returned.
func (h *Handler) closeIdle() {
	for _, s := range h.Shards {
		s.closeIdleConnections()
	}
	time.AfterFunc(idleCloseRetry, func() {
		for _, s := range h.Shards {
			s.closeIdleConnections()
		}
	})
}

func (h *Handler) name() string {
	if h.Name == "" {
		return "federate"
	}
	return h.Name
}

func (h *Handler) coalescing() bool { return h.Coalesce == nil || *h.Coalesce }

func (h *Handler) shardIndex(name string) int {
	for i, s := range h.Shards {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
