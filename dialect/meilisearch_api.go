package dialect

import (
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
)

// Meilisearch endpoints beside search
// (https://www.meilisearch.com/docs/reference/api/multi_search): POST
// /multi-search, plain (results[], one per query, each with its indexUid)
// or federated (one list fused over every query and every shard); GET
// /version, /health and /indexes/{uid}, which clients call on start.

// Route serves /indexes/{uid}/search (GET or POST), POST /multi-search and
// GET /version, /health, /indexes/{uid}.
func (meilisearch) Route(method, path string) Endpoint {
	segs := lastSegments(path, 3)
	n := len(segs)
	switch {
	case n >= 1 && segs[n-1] == "multi-search":
		return allowOp(OpMultiSearch, method, http.MethodPost)
	case n == 3 && segs[0] == "indexes" && segs[2] == "search":
		return allowSearch(method, http.MethodGet, http.MethodHead, http.MethodPost)
	case n >= 2 && segs[n-2] == "indexes":
		e := allowOp(OpInfo, method, http.MethodGet)
		e.Name, e.Index = "index", segs[n-1]
		return e
	case n >= 1 && (segs[n-1] == "version" || segs[n-1] == "health"):
		e := allowOp(OpInfo, method, http.MethodGet)
		e.Name = segs[n-1]
		return e
	}
	return Endpoint{Op: OpNotFound}
}

// meiliVersion is the Meilisearch version /version reports: one whose API
// (federated multi-search with facetsByIndex) federate speaks.
const meiliVersion = "1.16.0"

// Info answers /version, /health and /indexes/{uid} as a Meilisearch
// instance does; an index is reported with primary key "id".
func (meilisearch) Info(e Endpoint, _ *http.Request) (int, []byte) {
	switch e.Name {
	case "version":
		return http.StatusOK, []byte(`{"commitSha":"federate","commitDate":"2025-01-01T00:00:00Z","pkgVersion":"` + meiliVersion + `"}`)
	case "health":
		return http.StatusOK, []byte(`{"status":"available"}`)
	}
	b := appendString([]byte(`{"uid":`), e.Index)
	b = append(b, `,"primaryKey":"id","createdAt":"2025-01-01T00:00:00Z","updatedAt":"2025-01-01T00:00:00Z"}`...)
	return http.StatusOK, b
}

// meiliFederation is a multi-search's federation object.
type meiliFederation struct {
	Offset        *int                `json:"offset"`
	Limit         *int                `json:"limit"`
	FacetsByIndex map[string][]string `json:"facetsByIndex"`
	MergeFacets   json.RawMessage     `json:"mergeFacets"`
}

// meiliFederatedOnly are the members a query of a federated search may not
// carry: the federation pages and facets the one list.
var meiliFederatedOnly = []struct{ key, code, what string }{
	{"offset", "invalid_multi_search_query_pagination", "pagination"},
	{"limit", "invalid_multi_search_query_pagination", "pagination"},
	{"page", "invalid_multi_search_query_pagination", "pagination"},
	{"hitsPerPage", "invalid_multi_search_query_pagination", "pagination"},
	{"facets", "invalid_multi_search_query_facets", "facets"},
}

// DecodeMulti reads {"queries": [{indexUid, ...search}], "federation": ...}.
// As in Meilisearch, the first wrong query fails the request with an error
// that names it.
func (meilisearch) DecodeMulti(r *http.Request, body []byte) (*Multi, error) {
	top, ok := rawObject(body)
	if !ok {
		return nil, meiliError("malformed_payload", "The multi-search body must be a JSON object.")
	}
	var queries []json.RawMessage
	if json.Unmarshal(top["queries"], &queries) != nil || top["queries"] == nil {
		return nil, meiliError("invalid_multi_search_queries", "Missing or invalid `.queries`: expected an array of search queries.")
	}
	m := &Multi{Queries: make([]*Query, len(queries)), Errs: make([]*Error, len(queries)), FailFast: true}
	if fed := top["federation"]; len(fed) > 0 && string(fed) != "null" {
		if err := decodeMeiliFederation(m, fed); err != nil {
			return nil, err
		}
	}
	for i, raw := range queries {
		q, w, err := decodeMeiliQuery(r, raw, m.Fused)
		if err != nil {
			err.Message = "Inside `.queries[" + strconv.Itoa(i) + "]`: " + err.Message
			return nil, err
		}
		if fs, ok := m.FacetsByIndex[q.Index]; ok && m.Fused {
			// The federation asks the facets; each shard counts them.
			q.Facets = fs
			q.Body = appendMember(q.Body, "facets", fs)
		}
		m.Queries[i] = q
		if m.Fused {
			m.Weights = append(m.Weights, w)
		}
	}
	return m, nil
}

// decodeMeiliFederation reads the federation object.
func decodeMeiliFederation(m *Multi, raw []byte) error {
	var f meiliFederation
	if json.Unmarshal(raw, &f) != nil {
		return meiliError("invalid_multi_search_federation", "Invalid value at `.federation`: expected an object with offset, limit, facetsByIndex, mergeFacets.")
	}
	m.Fused, m.Limit = true, 20
	if f.Offset != nil {
		if *f.Offset < 0 {
			return meiliError("invalid_multi_search_federation_offset", "Invalid value at `.federation.offset`: expected a positive integer.")
		}
		m.Offset = *f.Offset
	}
	if f.Limit != nil {
		if *f.Limit < 0 {
			return meiliError("invalid_multi_search_federation_limit", "Invalid value at `.federation.limit`: expected a positive integer.")
		}
		m.Limit = *f.Limit
	}
	m.HasLimit = true
	m.FacetsByIndex = f.FacetsByIndex
	m.MergeFacets = len(f.MergeFacets) > 0 && string(f.MergeFacets) != "null"
	return nil
}

// decodeMeiliQuery reads one query: its indexUid, its search (the body
// without indexUid and federationOptions, kept for same-dialect shards) and
// its federation weight.
func decodeMeiliQuery(r *http.Request, raw []byte, fused bool) (*Query, float64, *Error) {
	fields, ok := rawObject(raw)
	if !ok {
		return nil, 0, meiliError("invalid_multi_search_queries", "a query must be a JSON object.")
	}
	var uid string
	if json.Unmarshal(fields["indexUid"], &uid) != nil || uid == "" {
		return nil, 0, meiliError("missing_index_uid", "Missing or invalid `indexUid`: every query names its index.")
	}
	weight := 1.0
	if fo := fields["federationOptions"]; len(fo) > 0 && string(fo) != "null" {
		if !fused {
			return nil, 0, meiliError("invalid_multi_search_federation_options", "Using `federationOptions` is not allowed in a non-federated search. Hint: remove `federationOptions` or add `federation` to the request.")
		}
		var opts struct {
			Weight *float64 `json:"weight"`
		}
		if json.Unmarshal(fo, &opts) != nil || (opts.Weight != nil && (*opts.Weight < 0 || math.IsNaN(*opts.Weight))) {
			return nil, 0, meiliError("invalid_multi_search_weight", "Invalid value at `federationOptions.weight`: expected a positive number.")
		}
		if opts.Weight != nil {
			weight = *opts.Weight
		}
	}
	if fused {
		for _, f := range meiliFederatedOnly {
			if v, ok := fields[f.key]; ok && string(v) != "null" {
				return nil, 0, meiliError(f.code, "Using "+f.what+" options is not allowed in federated queries. Hint: remove `"+f.key+"` from the query or remove `federation` from the request.")
			}
		}
	}
	search := make([]byte, 0, len(raw))
	search = append(search, '{')
	_ = eachMemberRaw(raw, func(k, _ []byte, start, end int) bool {
		if string(k) != "indexUid" && string(k) != "federationOptions" {
			if len(search) > 1 {
				search = append(search, ',')
			}
			search = append(search, raw[start:end]...)
		}
		return true
	})
	search = append(search, '}')
	delete(fields, "indexUid")
	delete(fields, "federationOptions")
	q := &Query{Dialect: meiliName, Method: http.MethodPost, Index: uid, Body: search}
	if err := decodeMeiliBody(q, fields); err != nil {
		return nil, 0, errorOf(err)
	}
	return q, weight, nil
}

// EncodeMulti writes {"results": [...]}: each query's answer with its
// indexUid. Meilisearch fails a multi-search on its first failed query, so
// the handler answers errs only through EncodeError; here every res is set.
func (m meilisearch) EncodeMulti(mq *Multi, res []*Response, _ []*Error) ([]byte, error) {
	b := append(make([]byte, 0, 4096), `{"results":[`...)
	for i, q := range mq.Queries {
		if i > 0 {
			b = append(b, ',')
		}
		one, err := m.EncodeResponse(q, res[i])
		if err != nil {
			return nil, err
		}
		b = append(b, `{"indexUid":`...)
		b = appendString(b, q.Index)
		b = append(b, ',')
		b = append(b, one[1:]...)
	}
	return append(b, "]}"...), nil
}

// EncodeFused writes a federated search answer: one list whose hits carry
// _federation with Meilisearch's own members (indexUid, queriesPosition,
// weightedRankingScore: here the fused score the list is ordered by)
// beside federate's shard provenance (shard, rank, score).
func (m meilisearch) EncodeFused(mq *Multi, res *Fused) ([]byte, error) {
	b := make([]byte, 0, 512+512*len(res.Result.Hits))
	b = append(b, `{"hits":[`...)
	var fed, prov []byte // scratch, reused for every hit
	for i := range res.Result.Hits {
		h := &res.Result.Hits[i]
		if i > 0 {
			b = append(b, ',')
		}
		pos := res.Positions[i]
		fed = append(fed[:0], `{"indexUid":`...)
		fed = appendString(fed, mq.Queries[pos].Index)
		fed = append(fed, `,"queriesPosition":`...)
		fed = strconv.AppendInt(fed, int64(pos), 10)
		fed = append(fed, `,"weightedRankingScore":`...)
		fed = appendFloat(fed, h.Score)
		prov = appendFederation(prov[:0], h, mq.Queries[pos].Explain)
		fed = append(append(fed, ','), prov[1:]...)
		b = appendObjectWith(b, meiliDoc(mq.Queries[pos], h), field{"_federation", fed})
	}
	b = append(b, `],"processingTimeMs":`...)
	b = strconv.AppendInt(b, tookMillis(res.Took), 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(mq.Limit), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, int64(mq.Offset), 10)
	b = append(b, `,"estimatedTotalHits":`...)
	b = strconv.AppendInt(b, res.Result.Total, 10)
	if len(mq.FacetsByIndex) > 0 {
		if mq.MergeFacets {
			b = append(b, `,"facetDistribution":`...)
			b = appendMeiliFacets(b, res.Result.Facets)
			b = append(b, `,"facetStats":{}`...)
		} else {
			b = append(b, `,"facetsByIndex":{`...)
			for n, index := range slices.Sorted(maps.Keys(mq.FacetsByIndex)) {
				if n > 0 {
					b = append(b, ',')
				}
				b = appendString(b, index)
				b = append(b, `:{"distribution":`...)
				b = appendMeiliFacets(b, res.FacetsByIndex[index])
				b = append(b, `,"stats":{}}`...)
			}
			b = append(b, '}')
		}
	}
	b = m.appendRemoteErrors(b, res.Shards)
	return append(b, '}'), nil
}

// appendMember adds "key": v (JSON-encoded) to the object obj.
func appendMember(obj []byte, key string, v any) []byte {
	val, _ := json.Marshal(v)
	out := append(make([]byte, 0, len(obj)+len(key)+len(val)+4), obj[:len(obj)-1]...)
	if len(out) > 1 {
		out = append(out, ',')
	}
	out = appendString(out, key)
	out = append(out, ':')
	out = append(append(out, val...), '}')
	return out
}
