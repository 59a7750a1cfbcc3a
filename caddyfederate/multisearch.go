package caddyfederate

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/searchfront/caddy-federate/dialect"
	"github.com/searchfront/caddy-federate/merge"
)

// serveMultiSearch answers a request that carries several searches
// (Elasticsearch _msearch, Meilisearch /multi-search, Typesense
// multi_search): each search runs the single-search steps (search) on its
// own, concurrently; the answers are encoded together, or fused into one
// list (Meilisearch federation, Typesense union).
func (h *Handler) serveMultiSearch(w http.ResponseWriter, r *http.Request, ms dialect.MultiSearcher) error {
	start := time.Now()
	liftDeadline := h.bodyDeadline(w)
	body, err := h.readBody(r)
	liftDeadline()
	if err != nil {
		return h.write(w, h.errorAnswer(err))
	}
	m, err := ms.DecodeMulti(r, body)
	if err != nil {
		return h.write(w, h.errorAnswer(err))
	}
	p, err := newParentState(r)
	if err != nil {
		return h.write(w, h.errorAnswer(err))
	}
	only := r.Header.Get("Federate-Shards")
	if err := h.checkCalls(len(m.Queries), h.askedShards(only)); err != nil {
		return h.write(w, h.errorAnswer(err))
	}
	release, err := h.admit(r.Context())
	if err != nil {
		return h.writeRefused(w, err)
	}
	defer release()
	p = p.charged(h)
	defer p.charge.release()
	run := func(ctx context.Context) *answer {
		if m.Fused {
			return h.fusedSearch(ctx, p, ms, m, only, start)
		}
		return h.multiSearch(ctx, p, ms, m, only, start)
	}
	if h.cache != nil {
		return h.serveCached(w, r, body, h.cacheDeps(m.Queries...), run)
	}
	return h.write(w, run(r.Context()))
}

// runSearches prepares and runs every search of m concurrently. A search
// that could not be decoded or prepared is not run; errs says why.
func (h *Handler) runSearches(ctx context.Context, p *parentState, m *dialect.Multi, only string, start time.Time) ([]searched, []*dialect.Error) {
	out := make([]searched, len(m.Queries))
	errs := make([]*dialect.Error, len(m.Queries))
	var wg sync.WaitGroup
	for i, q := range m.Queries {
		if q == nil {
			errs[i] = m.Errs[i]
			continue
		}
		reqs, err := h.prepareSearch(q, only)
		if err != nil {
			errs[i] = asDialectError(err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = h.search(ctx, p, q, reqs, start)
			errs[i] = out[i].err
		}()
	}
	wg.Wait()
	return out, errs
}

// multiSearch answers every search of m on its own; one failed search does
// not fail the others (except where the engine fails them all: FailFast).
func (h *Handler) multiSearch(ctx context.Context, p *parentState, ms dialect.MultiSearcher, m *dialect.Multi, only string, start time.Time) *answer {
	out, errs := h.runSearches(ctx, p, m, only, start)
	res := make([]*dialect.Response, len(out))
	complete := true
	for i, s := range out {
		if errs[i] == nil {
			res[i] = s.resp
		}
		complete = complete && res[i] != nil && res[i].Complete
	}
	if m.FailFast {
		for i, e := range errs {
			if e != nil {
				return h.errorAnswer(&dialect.Error{Status: e.Status, Code: e.Code, Type: e.Type,
					Message: "Inside `.queries[" + strconv.Itoa(i) + "]`: " + e.Message})
			}
		}
	}
	body, err := ms.EncodeMulti(m, res, errs)
	if err != nil {
		return h.encodingFailed(err)
	}
	return &answer{status: http.StatusOK, body: body, complete: strconv.FormatBool(complete)}
}

// fusedSearch answers m with one list fused over every search and every
// shard: each search asks its shards for the fused window, each shard
// answer is one list weighted by its shard's and its search's weight.
func (h *Handler) fusedSearch(ctx context.Context, p *parentState, ms dialect.MultiSearcher, m *dialect.Multi, only string, start time.Time) *answer {
	for _, q := range m.Queries {
		q.Offset, q.Limit, q.HasLimit = m.Offset, m.Limit, m.HasLimit
	}
	out, errs := h.runSearches(ctx, p, m, only, start)
	for i, e := range errs {
		if e != nil {
			return h.errorAnswer(&dialect.Error{Status: e.Status, Code: e.Code, Type: e.Type,
				Message: "search " + strconv.Itoa(i) + ": " + e.Message})
		}
	}
	limit := m.Limit
	if !m.HasLimit && len(m.Queries) > 0 {
		limit = m.Queries[0].Limit // the route's default, applied by prepareSearch
		m.Limit = limit
	}
	var lists []merge.List
	var from []int // the search each list answers
	failed := 0
	fused := &dialect.Fused{Response: dialect.Response{Complete: true}}
	for i, s := range out {
		for j, r := range s.results {
			if r.report.Status == dialect.StatusOK {
				l := r.list
				if i < len(m.Weights) {
					l.Weight *= m.Weights[i]
				}
				lists = append(lists, l)
				from = append(from, i)
			} else if r.report.Status != dialect.StatusSkipped {
				failed++
				fused.Complete = false
			}
			if i == 0 {
				fused.Shards = append(fused.Shards, r.report)
			} else if fused.Shards[j].Status == dialect.StatusOK {
				fused.Shards[j] = r.report
			}
		}
	}
	if len(m.Queries) > 0 && len(m.Queries[0].Sort) > 0 {
		// A federated search sorts every search alike (the engines require
		// it): the fused list is the exact sorted merge.
		opts := h.mergeOpts
		opts.Offset, opts.Limit = m.Offset, limit
		fused.Result = merge.Sorted(lists, failed, m.Queries[0].Sort, opts)
	} else {
		fused.Result = h.fuse(lists, failed, m.Offset, limit)
	}
	fused.Positions = positions(fused.Result.Hits, lists, from)
	fused.FacetsByIndex = h.facetsByIndex(m, lists, from)
	fused.Took = time.Since(start)
	body, err := ms.EncodeFused(m, fused)
	if err != nil {
		return h.encodingFailed(err)
	}
	return &answer{status: http.StatusOK, body: body, complete: strconv.FormatBool(fused.Complete), timing: serverTiming(&fused.Response)}
}

// positions finds the search each fused hit came from: the list whose hit
// at the hit's rank is the very occurrence the merge kept.
func positions(hits []merge.Fused, lists []merge.List, from []int) []int {
	pos := make([]int, len(hits))
	for i := range hits {
		h := &hits[i]
		for k := range lists {
			l := &lists[k]
			if l.Shard != h.Shard || h.Rank < 1 || h.Rank > len(l.Hits) {
				continue
			}
			o := l.Hits[h.Rank-1]
			if o.ID == h.ID && len(o.Native) > 0 && len(h.Native) > 0 && &o.Native[0] == &h.Native[0] {
				pos[i] = from[k]
				break
			}
		}
	}
	return pos
}

// facetsByIndex merges, for each index named in m.FacetsByIndex, the facets
// of that index's searches.
func (h *Handler) facetsByIndex(m *dialect.Multi, lists []merge.List, from []int) map[string][]merge.Facet {
	if len(m.FacetsByIndex) == 0 {
		return nil
	}
	out := make(map[string][]merge.Facet, len(m.FacetsByIndex))
	for index := range m.FacetsByIndex {
		var sub []merge.List
		for k, l := range lists {
			if m.Queries[from[k]].Index == index {
				sub = append(sub, l)
			}
		}
		out[index] = merge.Merge(sub, 0, merge.Options{Limit: 0}).Facets
	}
	return out
}

// prepareSearch applies the window rules to one search and builds its
// shard requests.
func (h *Handler) prepareSearch(q *dialect.Query, only string) ([]*dialect.Request, error) {
	if err := h.applyWindow(q); err != nil {
		return nil, err
	}
	return h.shardRequests(q, only)
}

// encodingFailed answers a merged answer that could not be encoded.
func (h *Handler) encodingFailed(err error) *answer {
	return h.errorAnswer(&dialect.Error{Status: http.StatusInternalServerError, Code: "internal", Type: "internal",
		Message: "encoding the merged answers failed: " + err.Error()})
}

func asDialectError(err error) *dialect.Error {
	var de *dialect.Error
	if errors.As(err, &de) {
		return de
	}
	return &dialect.Error{Status: http.StatusInternalServerError, Code: "internal", Type: "internal", Message: err.Error()}
}
