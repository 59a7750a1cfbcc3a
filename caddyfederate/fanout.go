package caddyfederate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/searchfront/caddy-federate/dialect"
	"github.com/searchfront/caddy-federate/health"
	"github.com/searchfront/caddy-federate/merge"
)

// shardResult is one shard's outcome for one request.
type shardResult struct {
	index  int
	report dialect.ShardReport
	list   merge.List
	raw    []byte // the shard's answer as sent, for broadcasts only
	buf    []byte // the answer list points into; see releaseAnswers
}

// parentState is what every sub-request inherits from the client's
// request. It is captured once before the fan-out and only read afterwards.
type parentState struct {
	req  *http.Request
	srv  *caddyhttp.Server
	repl *caddy.Replacer
	vars map[string]any // a snapshot: later writes to the route's vars are not seen
	raw  bool           // keep shard answers as they are (broadcast) instead of decoding them
	// counts shard answer bytes against the route's max_inflight_bytes;
	// nil counts nothing
	charge *charge
}

// charged returns a copy of p whose shard answers count against a new
// charge on the route's budget; the caller releases it.
func (p *parentState) charged(h *Handler) *parentState {
	pc := *p
	pc.charge = h.newCharge()
	return &pc
}

func newParentState(r *http.Request) (*parentState, error) {
	srv, _ := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	if srv == nil {
		return nil, fmt.Errorf("federate must run inside a Caddy HTTP server")
	}
	p := &parentState{req: r, srv: srv}
	p.repl, _ = r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if vars, ok := r.Context().Value(caddyhttp.VarsCtxKey).(map[string]any); ok {
		for k, v := range vars {
			if k == caddyhttp.TrustedProxyVarKey || k == caddyhttp.ClientIPVarKey {
				continue // PrepareRequest sets them on every sub-request, from the same request
			}
			if p.vars == nil {
				p.vars = make(map[string]any, len(vars))
			}
			p.vars[k] = v
		}
	}
	return p, nil
}

// fanOut sends every shard its request at once and collects the answers
// until all are in or the route's deadline passes; shards still out then
// are reported as timed out (their contexts are cancelled, so their
// goroutines end promptly and send into a buffered channel nobody reads).
// The first shard asked runs on the calling goroutine, once the others
// are started: a goroutine and a hand-off fewer per request (for one
// shard, none at all). Its context
// ends at the deadline too, so it returns then; an answer that was not ok
// by then is reported as late, as the other shards'.
func (h *Handler) fanOut(ctx context.Context, p *parentState, reqs []*dialect.Request) []shardResult {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(h.Timeout))
	defer cancel()
	// A result whose report has no status yet is a shard still out.
	results := make([]shardResult, len(h.Shards))
	var ch chan shardResult
	// out counts the shards still out in this fan-out; hedging reads it to
	// hedge the stragglers, not every shard that passes its p95.
	out := new(atomic.Int32)
	pending, inline := 0, -1
	for i, s := range h.Shards {
		results[i].index = i
		results[i].report.Name = s.Name
		if reqs[i] == nil {
			results[i].report.Status = dialect.StatusSkipped
			results[i].report.Reason = "not asked: the client limited the request to other shards"
			continue
		}
		out.Add(1)
		if inline < 0 {
			inline = i // started last, below
			continue
		}
		pending++
		if ch == nil {
			ch = make(chan shardResult, len(h.Shards))
		}
		h.callStart()
		go func(s *Shard, req *dialect.Request) {
			defer h.callDone()
			res := h.callShard(ctx, p, s, req, out)
			out.Add(-1)
			ch <- res
		}(s, reqs[i])
	}
	if inline >= 0 {
		res := h.callInline(ctx, p, h.Shards[inline], reqs[inline], out)
		if res.report.Status == dialect.StatusOK || ctx.Err() == nil {
			results[inline] = res
		}
	}
	for pending > 0 {
		select {
		case res := <-ch:
			results[res.index] = res
			pending--
		case <-ctx.Done():
			pending = 0
		}
	}
	for i := range results {
		if results[i].report.Status == "" {
			results[i].report = h.lateReport(ctx, h.Shards[i])
		}
	}
	return results
}

// callInline is callShard on the calling goroutine, counted as a shard
// call in flight like the others.
func (h *Handler) callInline(ctx context.Context, p *parentState, s *Shard, req *dialect.Request, out *atomic.Int32) shardResult {
	h.callStart()
	defer h.callDone()
	defer out.Add(-1)
	return h.callShard(ctx, p, s, req, out)
}

func (h *Handler) lateReport(ctx context.Context, s *Shard) dialect.ShardReport {
	rep := dialect.ShardReport{Name: s.Name, Status: dialect.StatusTimeout, Took: time.Duration(h.Timeout)}
	rep.Reason = "no answer within the route timeout (" + time.Duration(h.Timeout).String() + ")"
	if ctx.Err() == context.Canceled {
		rep.Status, rep.Reason = dialect.StatusError, reasonClientGone
	}
	return rep
}

// callShard answers for one shard: at once `unavailable` when no replica
// can be asked, otherwise one request (or a hedged pair) under the shard's
// deadline.
func (h *Handler) callShard(ctx context.Context, p *parentState, s *Shard, sreq *dialect.Request, out *atomic.Int32) (res shardResult) {
	start := time.Now()
	defer func() {
		res.report.Took = time.Since(start)
		if res.report.Reason == reasonClientGone {
			// Not the shard's outcome: no metric, warning or last failure
			// that would send an operator looking at a healthy shard.
			return
		}
		s.observe(h.name(), res.report)
		h.logShard(res.report)
		s.noteOutcome(res.report)
	}()
	n, known := s.availableUpstreams(p.req)
	s.observeUpstreams(h.name(), n, known)
	if known && n == 0 {
		res.index = s.index
		res.report.Name = s.Name
		res.report.Status = dialect.StatusUnavailable
		res.report.Reason = "no available upstream: every replica is unhealthy or at its request limit"
		return res
	}
	ctx = h.withoutStale(ctx, s)
	// provision caps the shard's timeout at the route's, whose deadline
	// ctx already carries: a second timer only for a shorter one.
	if s.Timeout < h.Timeout {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(s.Timeout))
		defer cancel()
	}
	if s.Hedge != nil && s.rp != nil {
		return h.callHedged(ctx, p, s, sreq, out)
	}
	ctx, picks := health.WithPicks(ctx)
	return h.attemptShard(ctx, p, s, sreq, picks)
}

// attemptShard runs one shard sub-request through the shard's
// reverse_proxy, isolated from the other shards and attempts: its own
// context, request, body reader, vars map, Replacer and response writer.
func (h *Handler) attemptShard(ctx context.Context, p *parentState, s *Shard, sreq *dialect.Request, picks *health.Picks) (res shardResult) {
	start := time.Now()
	res.index = s.index
	res.report.Name = s.Name
	sw := newShardWriter(h.MaxResponseSize)
	sw.charge = p.charge
	req, repl := p.subRequest(ctx, sw, sreq)
	s.stripCredentials(req, repl)
	err := serveRecovered(s.proxy, sw, req)
	res.report.Replica, _ = repl.GetString("http.reverse_proxy.upstream.hostport")
	res.report.HTTPStatus = sw.status
	res.report.Status, res.report.Reason = classify(ctx, err, sw, time.Duration(s.Timeout), h.MaxResponseSize)
	switch {
	case p.raw:
		res.raw = sw.body
	case res.report.Status == dialect.StatusOK:
		h.decodeShard(s, sw.body, &res)
		res.buf = sw.body
	}
	// A call we cancelled ourselves (a hedge's loser) says nothing about
	// the replica; every other outcome feeds its latency history.
	if s.tracker != nil && !errors.Is(ctx.Err(), context.Canceled) {
		s.tracker.Observe(picks.Last(), time.Since(start), res.report.Status == dialect.StatusOK)
	}
	return res
}

// logShard logs a shard that did not answer ok, with what an operator
// needs to act on it.
func (h *Handler) logShard(rep dialect.ShardReport) {
	if rep.Status == dialect.StatusOK || rep.Status == dialect.StatusSkipped {
		return
	}
	if c := h.logger.Check(zap.WarnLevel, "shard failed"); c != nil {
		c.Write(zap.String("route", h.name()), zap.String("shard", rep.Name), zap.String("status", string(rep.Status)),
			zap.String("reason", rep.Reason), zap.String("replica", rep.Replica), zap.Int("upstream_status", rep.HTTPStatus),
			zap.Duration("took", rep.Took))
	}
}

// decodeShard reads an ok answer into res; an unreadable one is invalid.
func (h *Handler) decodeShard(s *Shard, body []byte, res *shardResult) {
	list, err := s.dialect.DecodeResponse(body, h.dedupeField())
	if err != nil {
		res.report.Status = dialect.StatusInvalid
		res.report.Reason = "not a valid " + s.dialect.Name() + " answer: " + oneLine(err.Error())
		return
	}
	list.Shard, list.Weight = s.Name, s.Weight
	res.list = list
	res.report.Hits = len(list.Hits)
}

// subRequest builds the shard's request: a deep clone of the client's with
// the shard's method, path, query and body, a fresh request context made by
// caddyhttp.PrepareRequest (own vars map and Replacer, which reverse_proxy
// writes on every request), the route's vars copied in and the route's
// placeholders reachable as a fallback.
func (p *parentState) subRequest(ctx context.Context, w http.ResponseWriter, sreq *dialect.Request) (*http.Request, *caddy.Replacer) {
	req := p.req.Clone(ctx)
	req.Method = sreq.Method
	// A dialect's path is escaped once already: it is the raw path (a
	// broadcast's is the client's decoded path).
	req.URL.Path, req.URL.RawPath, req.URL.RawQuery = sreq.Path, "", sreq.RawQuery
	if dec, err := url.PathUnescape(sreq.Path); err == nil && !p.raw {
		req.URL.Path, req.URL.RawPath = dec, sreq.Path
	}
	req.RequestURI = req.URL.RequestURI()
	body := sreq.Body
	req.Body = newBodyReader(body)
	req.GetBody = func() (io.ReadCloser, error) { return newBodyReader(body), nil }
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Length", strconv.Itoa(len(body)))
	if len(body) == 0 {
		req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
		req.Header.Del("Content-Length")
	}
	if sreq.ContentType != "" {
		req.Header.Set("Content-Type", sreq.ContentType)
	} else if len(body) == 0 {
		req.Header.Del("Content-Type")
	}
	// The merge must read the answer: let Go's transport negotiate gzip
	// and decompress it, rather than pass on what the client accepts.
	req.Header.Del("Accept-Encoding")
	req.Header.Del("Expect")

	repl := caddy.NewReplacer()
	req = caddyhttp.PrepareRequest(req, repl, w, p.srv)
	if vars, ok := req.Context().Value(caddyhttp.VarsCtxKey).(map[string]any); ok {
		for k, v := range p.vars {
			if _, set := vars[k]; !set {
				vars[k] = v
			}
		}
	}
	if p.repl != nil {
		parent := p.repl
		repl.Map(func(key string) (any, bool) { return parent.Get(key) })
	}
	return req, repl
}

// bodyReader is a sub-request's body: one allocation where
// io.NopCloser(bytes.NewReader(b)) takes two.
type bodyReader struct{ bytes.Reader }

func newBodyReader(b []byte) *bodyReader {
	r := new(bodyReader)
	r.Reset(b)
	return r
}

// Close does nothing: the body is the shard request's own bytes.
func (*bodyReader) Close() error { return nil }

// serveRecovered runs the proxy and turns a panic into an error:
// reverse_proxy panics with http.ErrAbortHandler when a streamed answer is
// cut, which must fail this shard, not the process or the client's request.
func serveRecovered(h caddyhttp.MiddlewareHandler, w http.ResponseWriter, r *http.Request) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("proxy aborted: %v", v)
		}
	}()
	return h.ServeHTTP(w, r, nopHandler)
}

var nopHandler = caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })

// releaseAnswers recycles the shards' answer buffers once the merged
// answer is encoded: the hits of results point into them until then.
func releaseAnswers(results []shardResult) {
	for i := range results {
		releaseAnswer(results[i].buf)
		dialect.ReleaseHits(results[i].list.Hits)
		results[i].buf, results[i].list = nil, merge.List{}
	}
}
