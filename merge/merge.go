// Package merge fuses the ranked answers of several search shards into one
// ranked list, the way one search engine over all the data would answer.
//
// It is pure: byte slices and numbers in, values out; no Caddy, no globals,
// no I/O. Document bodies travel as opaque bytes and are never parsed here.
//
// Invariants every strategy keeps:
//   - the same input gives the same output (ties break by fused score, then
//     best rank, then shard order, then id);
//   - a fused page never contains two hits with the same non-empty ID when
//     dedupe is on;
//   - consecutive windows [offset, offset+limit) of the same input neither
//     overlap nor skip.
package merge

// Relation says whether a total is exact ("eq") or a lower bound ("gte"),
// as Elasticsearch's hits.total.relation does.
type Relation string

// Relations of a total.
const (
	Eq  Relation = "eq"
	Gte Relation = "gte"
)

// Hit is one ranked result of one shard. Doc and Native are carried, never
// parsed.
type Hit struct {
	// ID is the dedupe key (the dialect's document id or a declared field).
	// Hits with an empty ID are never fused with others.
	ID string
	// Score is the engine's own relevance score; meaningful only if Scored.
	Score float64
	// Scored is false for engines that return no score (rank-only engines).
	Scored bool
	// Doc is the document's fields as a JSON object.
	Doc []byte
	// Native is the whole hit as the shard's engine returned it (for
	// Elasticsearch the object with _index, _id, _score, _source).
	Native []byte
}

// List is one shard's answer: its hits in the shard's own rank order.
type List struct {
	// Shard names the shard; provenance and explanations use it.
	Shard string
	// Weight scales the shard's contribution; 0 means 1.
	Weight float64
	// Hits in rank order (rank 1 first).
	Hits []Hit
	// Total is the shard's count of matching documents.
	Total int64
	// TotalRelation is the shard's own relation for Total ("" means Eq).
	TotalRelation Relation
	// Facets maps facet name → value → count, as the shard returned them.
	Facets map[string]map[string]int64
	// FacetsTruncated is true when the shard returned only its top values.
	FacetsTruncated bool
}

// Source is one shard's contribution to a fused hit.
type Source struct {
	Shard string `json:"shard"`
	// Rank is the hit's 1-based rank in that shard's list.
	Rank int `json:"rank"`
	// Raw is the engine's score (0 when the engine gives none).
	Raw float64 `json:"raw"`
	// Normalized is the score after the strategy's normalizer (equal to the
	// rank-derived value for rank-only strategies).
	Normalized float64 `json:"normalized"`
	// Contribution is what this source added to the fused score.
	Contribution float64 `json:"contribution"`
}

// Fused is one hit of the merged list.
type Fused struct {
	// Hit is the best-ranked occurrence (its body is what clients see).
	Hit
	// Shard and Rank locate that occurrence.
	Shard string
	Rank  int
	// Score is the fused score the list is ordered by.
	Score float64
	// Sources lists every shard occurrence that fused into this hit, best
	// first. Always set (length ≥ 1).
	Sources []Source
}

// Facet is one merged facet: value counts summed across shards.
type Facet struct {
	Name   string
	Values []FacetValue // count descending, then value ascending
	// Exact is false when a shard failed or truncated this facet's values.
	Exact bool
}

// FacetValue is one value of a facet and its count.
type FacetValue struct {
	Value string
	Count int64
}
