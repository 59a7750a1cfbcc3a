package caddyfederate

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/searchfront/caddy-federate/dialect"
)

// splitSearches returns the searches of a request that carries several
// (Typesense's multi_search), or nil for a single search.
func (h *Handler) splitSearches(q *dialect.Query) ([]*dialect.Query, error) {
	ms, ok := h.client.(dialect.MultiSearcher)
	if !ok {
		return nil, nil
	}
	return ms.SplitSearches(q)
}

// multiSearch federates every search of a multi-search request on its own,
// concurrently, and answers them together; one failed search does not fail
// the others, as in the engines' own multi-search.
func (h *Handler) multiSearch(ctx context.Context, p *parentState, qs []*dialect.Query, only string, start time.Time) *answer {
	res := make([]*dialect.Response, len(qs))
	errs := make([]*dialect.Error, len(qs))
	var wg sync.WaitGroup
	for i, q := range qs {
		reqs, err := h.prepareSearch(q, only)
		if err != nil {
			errs[i] = asDialectError(err)
			continue
		}
		wg.Add(1)
		go func(i int, q *dialect.Query, reqs []*dialect.Request) {
			defer wg.Done()
			results := h.fanOut(ctx, p, reqs)
			status, why := h.responseStatus(results)
			resp := h.mergeResults(q, results, start)
			observeAnswer(h.name(), status, resp.Complete)
			if status != http.StatusOK {
				errs[i] = &dialect.Error{Status: status, Code: errorCode(status), Type: "system", Message: why}
				return
			}
			res[i] = resp
		}(i, q, reqs)
	}
	wg.Wait()
	complete := true
	for _, r := range res {
		complete = complete && r != nil && r.Complete
	}
	body, err := h.client.(dialect.MultiSearcher).EncodeMulti(qs, res, errs)
	if err != nil {
		return h.errorAnswer(&dialect.Error{Status: http.StatusInternalServerError, Code: "internal", Type: "internal",
			Message: "encoding the merged answers failed: " + err.Error()})
	}
	return &answer{status: http.StatusOK, body: body, complete: strconv.FormatBool(complete)}
}

// prepareSearch applies the window rules to one search and builds its
// shard requests.
func (h *Handler) prepareSearch(q *dialect.Query, only string) ([]*dialect.Request, error) {
	if err := h.applyWindow(q); err != nil {
		return nil, err
	}
	return h.shardRequests(q, only)
}

func asDialectError(err error) *dialect.Error {
	var de *dialect.Error
	if errors.As(err, &de) {
		return de
	}
	return &dialect.Error{Status: http.StatusInternalServerError, Code: "internal", Type: "internal", Message: err.Error()}
}
