package caddyfederate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/searchfront/caddy-federate/dialect"
	"github.com/searchfront/caddy-federate/merge"
)

// ServeHTTP answers one client request: a search, a multi-search, an
// endpoint the route answers itself, or the engine's own not-found error
// (route.go). A search reads top to bottom: decode → fan out → collect →
// merge → encode. It never calls next: federate is a terminal handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	if handled, err := h.serveWrite(w, r); handled {
		return err
	}
	return h.serveRoute(w, r)
}

// serveSearch answers one search (or count).
func (h *Handler) serveSearch(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	liftDeadline := h.bodyDeadline(w)
	q, body, err := h.decodeRequest(r)
	liftDeadline()
	if err != nil {
		return h.write(w, h.errorAnswer(err))
	}
	only := r.Header.Get("Federate-Shards")
	p, err := newParentState(r)
	if err != nil {
		return caddyhttp.Error(http.StatusInternalServerError, err)
	}
	reqs, err := h.shardRequests(q, only)
	if err != nil {
		return h.write(w, h.errorAnswer(err))
	}
	release, err := h.admit(r.Context())
	if err != nil {
		return h.writeRefused(w, err)
	}
	defer release()
	run := func(ctx context.Context) *answer {
		pc := p.charged(h)
		defer pc.charge.release()
		return h.answer(ctx, pc, q, reqs, start)
	}
	if h.cache != nil {
		return h.serveCached(w, r, body, h.cacheDeps(q), run)
	}
	var ans *answer
	if h.coalescing() {
		var done func()
		ans, done = h.flights.do(r.Context(), h.requestKey(r, body), run, h.name())
		defer done() // the last request that shared ans gives its buffer back
	} else {
		ans = run(r.Context())
		defer ans.release() // only this request holds it
	}
	if r.Context().Err() != nil || ans == nil {
		// The client is gone; nobody reads an answer.
		return caddyhttp.Error(499, r.Context().Err())
	}
	return h.write(w, ans)
}

// answer runs one search and encodes its answer.
func (h *Handler) answer(ctx context.Context, p *parentState, q *dialect.Query, reqs []*dialect.Request, start time.Time) *answer {
	s := h.search(ctx, p, q, reqs, start)
	var ans *answer
	if s.err != nil {
		ans = h.errorAnswer(s.err)
	} else if body, pooled, err := h.encodeResponse(q, s.resp); err != nil {
		ans = h.errorAnswer(&dialect.Error{Status: http.StatusInternalServerError, Code: "internal", Type: "internal",
			Message: "encoding the merged answer failed: " + err.Error()})
	} else {
		ans = &answer{status: http.StatusOK, body: body, pooled: pooled}
	}
	releaseAnswers(s.results)
	ans.complete = strconv.FormatBool(s.resp.Complete)
	ans.timing = serverTiming(s.resp)
	return ans
}

// searched is one search's outcome: the shards' results, the merged
// response, and the error that answers it when the quorum was missed.
type searched struct {
	results []shardResult
	resp    *dialect.Response
	err     *dialect.Error
}

// search fans one search out, collects and merges it: the steps a search
// takes whether it arrives alone or in a multi-search.
func (h *Handler) search(ctx context.Context, p *parentState, q *dialect.Query, reqs []*dialect.Request, start time.Time) searched {
	results := h.fanOut(ctx, p, reqs)
	status, why := h.responseStatus(results)
	resp := h.mergeResults(q, results, start)
	h.observeAnswer(status, resp.Complete, errors.Is(ctx.Err(), context.Canceled))
	s := searched{results: results, resp: resp}
	if status != http.StatusOK {
		s.err = &dialect.Error{Status: status, Code: errorCode(status), Type: "system", Message: why}
	}
	return s
}

// answer is a finished response, shareable between coalesced requests.
type answer struct {
	status   int
	body     []byte
	complete string // Federate-Complete; "" on answers decided before the fan-out
	timing   string // Server-Timing
	// pooled: body is a recycled buffer (answerBuf), given back by
	// release once nobody writes it any more; false once a cache holds it.
	pooled bool
}

// release gives a pooled body back for reuse; the caller is the answer's
// last holder. It does nothing for a nil answer or one not pooled.
func (a *answer) release() {
	if a != nil && a.pooled {
		a.pooled = false
		releaseAnswer(a.body)
	}
}

// write sends ans to the client.
func (h *Handler) write(w http.ResponseWriter, ans *answer) error {
	hdr := w.Header()
	// The values share one array of this response's own (one allocation
	// instead of one a header); each slice is capped at its one value, so
	// a later Add copies instead of writing into its neighbour.
	vals := make([]string, 4)
	set := func(i int, key, v string) {
		vals[i] = v
		hdr[key] = vals[i : i+1 : i+1]
	}
	if hdr.Get("Content-Type") == "" { // a dialect's SetHeaders may have set its media type
		set(0, "Content-Type", "application/json")
	}
	set(1, "Content-Length", strconv.Itoa(len(ans.body)))
	if ans.complete != "" {
		set(2, "Federate-Complete", ans.complete)
	}
	if ans.timing != "" {
		set(3, "Server-Timing", ans.timing)
	}
	w.WriteHeader(ans.status)
	_, _ = w.Write(ans.body)
	return nil
}

// decodeRequest reads the client's body (capped) and decodes the query in
// the route's dialect, applying the page-size default and the window cap.
func (h *Handler) decodeRequest(r *http.Request) (*dialect.Query, []byte, error) {
	body, err := h.readBody(r)
	if err != nil {
		return nil, nil, err
	}
	q, err := h.client.DecodeRequest(r, body)
	if err != nil {
		return nil, nil, err
	}
	if err := h.applyWindow(q); err != nil {
		return nil, nil, err
	}
	return q, body, nil
}

// readBody reads the client's body, up to max_request_body.
func (h *Handler) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > h.MaxRequestBody {
		return nil, tooLarge(h.MaxRequestBody)
	}
	if r.ContentLength > 0 {
		// The usual case, a declared length: one read into a buffer of
		// that size, then a check that nothing follows.
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, h.bodyError(err)
		}
		var extra [1]byte
		n, _ := r.Body.Read(extra[:])
		if n == 0 {
			return b, nil
		}
		// More than declared (a body another handler replaced): read
		// the rest as an undeclared body, within the same cap.
		rest, err := io.ReadAll(io.LimitReader(r.Body, h.MaxRequestBody-int64(len(b))))
		if err != nil {
			return nil, h.bodyError(err)
		}
		b = append(append(b, extra[0]), rest...)
		if int64(len(b)) > h.MaxRequestBody {
			return nil, tooLarge(h.MaxRequestBody)
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, h.MaxRequestBody+1))
	if err != nil {
		return nil, h.bodyError(err)
	}
	if int64(len(b)) > h.MaxRequestBody {
		return nil, tooLarge(h.MaxRequestBody)
	}
	return b, nil
}

// applyWindow applies the page-size default and checks the window.
func (h *Handler) applyWindow(q *dialect.Query) error {
	if !q.HasLimit {
		q.Limit = h.Limit
		if q.Limit == 0 {
			q.Limit = h.client.DefaultLimit()
		}
	}
	if q.Offset < 0 || q.Limit < 0 {
		return badRequest(fmt.Sprintf("offset and limit must not be negative (got offset %d, limit %d)", q.Offset, q.Limit))
	}
	if q.Offset+q.Limit > h.MaxWindow {
		return badRequest(fmt.Sprintf("offset+limit is %d, above this route's max_window of %d: every shard would have to return that many hits; narrow the query or ask the operator to raise max_window",
			q.Offset+q.Limit, h.MaxWindow))
	}
	return nil
}

// shardRequests builds each shard's request. A nil entry is a shard the
// client left out with the Federate-Shards header. A query a shard's
// dialect cannot express fails the whole request with a 400 that names
// the shard: dropping part of the query silently would return wrong hits.
func (h *Handler) shardRequests(q *dialect.Query, only string) ([]*dialect.Request, error) {
	q.IDField = h.dedupeField()
	var want map[string]bool
	if only != "" {
		want = make(map[string]bool)
		for _, name := range strings.Split(only, ",") {
			name = strings.TrimSpace(name)
			if h.shardIndex(name) < 0 {
				return nil, badRequest(fmt.Sprintf("Federate-Shards names shard %q, which this route does not have", name))
			}
			want[name] = true
		}
	}
	if err := h.checkQuery(q); err != nil {
		return nil, err
	}
	reqs := make([]*dialect.Request, len(h.Shards))
	for i, s := range h.Shards {
		if want != nil && !want[s.Name] {
			continue
		}
		index, err := s.targetIndex(q)
		if err != nil {
			return nil, err
		}
		t := dialect.Target{Shard: s.Name, Index: index, Offset: 0, Limit: h.shardWindow(q)}
		req, err := dialect.BuildShardRequest(s.dialect, q, t)
		if err != nil {
			var de *dialect.Error
			if errors.As(err, &de) {
				if !strings.Contains(de.Message, s.Name) {
					de.Message = "shard " + strconv.Quote(s.Name) + ": " + de.Message
				}
				return nil, de
			}
			return nil, badRequest("shard " + strconv.Quote(s.Name) + ": " + err.Error())
		}
		reqs[i] = req
	}
	return reqs, nil
}

// shardWindow is how many hits every shard is asked for: the client's
// offset+limit, so the merged page is exact, and for score-based strategies
// at least the merge depth, so score statistics do not change with the page.
func (h *Handler) shardWindow(q *dialect.Query) int {
	n := q.Offset + q.Limit
	if h.usesScores() && n < h.mergeOpts.Depth {
		n = min(h.mergeOpts.Depth, h.MaxWindow)
	}
	return n
}

// mergers keeps merge working memory between requests: a Merger's result
// never shares memory with it, so it goes back to the pool at once.
var mergers = sync.Pool{New: func() any { return new(merge.Merger) }}

// mergeResults fuses the answers of the shards that succeeded.
func (h *Handler) mergeResults(q *dialect.Query, results []shardResult, start time.Time) *dialect.Response {
	resp := &dialect.Response{Shards: make([]dialect.ShardReport, len(results)), Complete: true}
	lists := make([]merge.List, 0, len(results))
	failed := 0
	for i, r := range results {
		resp.Shards[i] = h.clientReport(r.report)
		switch r.report.Status {
		case dialect.StatusOK:
			dialect.Annotate(h.Shards[i].dialect, q, &r.list, h.dedupeField())
			lists = append(lists, r.list)
		case dialect.StatusSkipped:
		default:
			failed++
			resp.Complete = false
		}
	}
	if len(q.Sort) > 0 {
		opts := h.mergeOpts
		opts.Offset, opts.Limit = q.Offset, q.Limit
		resp.Result = merge.Sorted(lists, failed, q.Sort, opts)
	} else {
		resp.Result = h.fuse(lists, failed, q.Offset, q.Limit)
	}
	if q.Limit == 0 {
		resp.Result.Hits = nil
	}
	resp.Took = time.Since(start)
	return resp
}

// fuse merges lists with the route's merge options and the window
// [offset, offset+limit).
func (h *Handler) fuse(lists []merge.List, failed, offset, limit int) merge.Result {
	opts := h.mergeOpts
	opts.Offset, opts.Limit = offset, limit
	if opts.Auto != nil {
		opts.Auto.Observe(lists)
	}
	m := mergers.Get().(*merge.Merger)
	res := m.Merge(lists, failed, opts)
	mergers.Put(m)
	return res
}

// dedupeField is the field shard answers are deduplicated by: "" means the
// dialect's document id.
func (h *Handler) dedupeField() string {
	if h.Dedupe == "off" {
		return ""
	}
	return h.Dedupe
}

// serverTiming renders each shard's duration and status as a
// Server-Timing header value.
func serverTiming(resp *dialect.Response) string {
	var buf [128]byte // one or two shards need no buffer of their own
	b := buf[:0]
	for _, s := range resp.Shards {
		if len(b) > 0 {
			b = append(b, ", "...)
		}
		b = append(b, timingToken(s.Name)...)
		b = append(b, ";desc="...)
		b = strconv.AppendQuote(b, string(s.Status))
		b = append(b, ";dur="...)
		b = strconv.AppendFloat(b, float64(s.Took.Microseconds())/1000, 'f', 1, 64)
	}
	return string(b)
}

// timingToken makes a shard name a valid Server-Timing metric name token.
func timingToken(name string) string {
	if isToken(name) {
		return name
	}
	return strings.Map(func(r rune) rune {
		if r > 0x20 && r < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?={} `, r) {
			return r
		}
		return '_'
	}, name)
}

// isToken reports whether name is already a valid metric name token.
func isToken(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={} `, c) >= 0 {
			return false
		}
	}
	return name != ""
}

// errorAnswer renders err in the client's dialect.
func (h *Handler) errorAnswer(err error) *answer {
	de := asDialectError(err)
	return &answer{status: de.Status, body: h.client.EncodeError(de), complete: "false"}
}

func badRequest(msg string) *dialect.Error {
	return &dialect.Error{Status: http.StatusBadRequest, Code: "bad_request", Type: "invalid_request", Message: msg}
}

func tooLarge(max int64) *dialect.Error {
	return &dialect.Error{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large", Type: "invalid_request",
		Message: fmt.Sprintf("the request body is larger than this route's max_request_body (%d bytes)", max)}
}
