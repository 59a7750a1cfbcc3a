package dialect

import (
	"net/http"

	"github.com/searchfront/caddy-federate/merge"
)

// Multi is a decoded multi-search request: several searches in one request,
// answered one by one (Elasticsearch _msearch, Meilisearch /multi-search,
// Typesense multi_search) or as one list fused over every search and every
// shard (Meilisearch federation, Typesense union).
type Multi struct {
	// Queries are the searches in request order. Queries[i] is nil when
	// Errs[i] says why search i could not be decoded; the others still run
	// (Elasticsearch reports such an item in its place in responses[]).
	Queries []*Query
	Errs    []*Error
	// Fused asks for one list fused over every search.
	Fused bool
	// FailFast: one failed search fails the whole request (Meilisearch),
	// instead of being reported in its place (Elasticsearch, Typesense).
	FailFast bool
	// Offset and Limit are the fused list's window; HasLimit is false when
	// the client gave no limit.
	Offset, Limit int
	HasLimit      bool
	// Weights[i] scales search i's lists in the fused merge (Meilisearch
	// federationOptions.weight); nil or 0 means 1.
	Weights []float64
	// FacetsByIndex names, per index, the facets of the fused answer
	// (Meilisearch federation.facetsByIndex); MergeFacets asks for them
	// merged over every index too.
	FacetsByIndex map[string][]string
	MergeFacets   bool
	// Display shapes the fused answer.
	Display Display
}

// Fused is the answer to a fused multi-search.
type Fused struct {
	// Response is the one list, fused over every search and every shard.
	// Its Shards hold one report per shard: ok only when the shard answered
	// every search, else its first failure.
	Response
	// Positions[i] is the search that Result.Hits[i] came from.
	Positions []int
	// FacetsByIndex are the facets of each index named in
	// Multi.FacetsByIndex, merged over that index's searches.
	FacetsByIndex map[string][]merge.Facet
}

// MultiSearcher is implemented by client dialects whose one request can
// carry several searches.
type MultiSearcher interface {
	// DecodeMulti reads a multi-search request (the Router said
	// OpMultiSearch). An error fails the whole request; a search that
	// cannot be decoded is reported in Multi.Errs when the engine reports
	// such errors per search.
	DecodeMulti(r *http.Request, body []byte) (*Multi, error)
	// EncodeMulti writes one answer per search, in order; res[i] is nil
	// when errs[i] says why search i failed.
	EncodeMulti(m *Multi, res []*Response, errs []*Error) ([]byte, error)
	// EncodeFused writes the answer to a Fused multi-search.
	EncodeFused(m *Multi, res *Fused) ([]byte, error)
}
