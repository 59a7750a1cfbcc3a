package merge

import "slices"

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
	// Keys are the hit's values of the query's sort fields, in sort order,
	// for [Sorted]; a missing trailing value counts as Missing.
	Keys []Value
	// DocID is the shard's own document id (Elasticsearch _id, a
	// Meilisearch primary key, ...), "" when unknown. Carried, not merged.
	DocID string
	// Highlight maps a field to its highlighted fragments, as the shard
	// returned them. Carried, not merged.
	Highlight map[string][]string
}

// List is one shard's answer: its hits in the shard's own rank order.
type List struct {
	// Shard names the shard; provenance and explanations use it.
	Shard string
	// Weight scales the shard's contribution; 0, negative and NaN mean 1,
	// and it is capped at 1e6. Interleave ignores it.
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
	// Contribution is what this source added to the fused score; the
	// contributions of a fused hit's sources sum to its Score.
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

// Merge fuses the answers of the shards that succeeded into one ranked list.
// failed is the number of shards that failed; their lists are not passed.
// Pass the lists in configuration order: the index breaks ties.
//
// The whole fused list is ranked by opts.Strategy (see Strategy), ties broken
// by higher fused score, then better best rank, then shard order (index in
// lists). With opts.Dedupe, hits sharing a non-empty ID fuse into one whose
// body is the best-ranked occurrence and whose Sources list every occurrence,
// best first. Result.Hits is the window [Offset, Offset+Limit) of that list.
// Total sums the shards' totals; it is a lower bound (Gte) when a shard
// failed, a shard's own total was Gte, or dedupe removed hits.
//
// Result.Strategy is the strategy applied: AutoChoice resolves to Raw,
// Calibrated, RRFCalibrated or RRF; Calibrated and RRFCalibrated fall back to
// RRF when a list is rank-only or a shard has no quantile table in
// opts.Auto; unknown strategies are RRF.
// Merge only reads opts.Auto; feeding it (Auto.Observe) and refreshing it
// (Auto.Refresh) is the caller's job.
//
// Merge does not retain or modify lists; Fused hits share Doc and Native with
// them. It is safe for concurrent use.
func Merge(lists []List, failed int, opts Options) Result {
	var m Merger
	return m.Merge(lists, failed, opts)
}

// Merger merges as Merge does but keeps its working memory (about 100 bytes
// a hit) from one call to the next, so that a steady stream of merges
// allocates little more than the Result it returns. A Merger is not safe for
// concurrent use: keep one per goroutine or in a sync.Pool. The zero value
// is ready to use. Results never share memory with the Merger.
type Merger struct {
	occs   []occ
	groups []group
	slots  []idSlot
	keys   []key
	idx    []int32
	stats  []stats
	curs   []cursor
	facets []facetCount
}

// maxRetained is the most occurrences whose working memory a Merger keeps
// after a call; a larger merge's memory is left to the garbage collector.
const maxRetained = 1 << 14

// Merge is the function Merge, with m's working memory.
func (m *Merger) Merge(lists []List, failed int, opts Options) Result {
	occs, groups, removed := collect(m, lists, opts.Dedupe)
	res := Result{Strategy: fuse(m, lists, occs, groups, &opts)}
	for g := range groups {
		groups[g].score = finite(groups[g].score)
	}
	lo, hi := window(len(groups), opts.Offset, opts.Limit)
	res.Hits = build(lists, occs, groups, top(m, occs, groups, lo, hi))
	res.Total, res.TotalRelation = total(lists, failed, removed)
	res.Facets = facets(m, lists, failed, opts.MaxFacetValues)
	m.keep(occs, groups)
	return res
}

// keep holds on to the working memory for the next call, unless it is
// outsized.
func (m *Merger) keep(occs []occ, groups []group) {
	if cap(occs) > maxRetained || cap(m.facets) > maxRetained {
		*m = Merger{}
		return
	}
	m.occs, m.groups = occs, groups
}

// fuse scores every group by the strategy of the options and returns the
// strategy it applied. "" and unknown strategies are RRF.
func fuse(m *Merger, lists []List, occs []occ, groups []group, opts *Options) Strategy {
	k, depth := kOf(opts), depthOf(opts)
	s := resolve(lists, opts)
	var sts []stats
	if s == Score || s == Raw || s == RRFZ {
		sts = slices.Grow(m.stats[:0], len(lists))[:len(lists)]
		for i := range lists {
			sts[i] = listStats(&lists[i], depth, k)
		}
		m.stats = sts
	}
	switch s {
	case Score:
		scoreFuse(lists, sts, occs, groups, opts.Normalizer, opts.Combine, k)
	case Raw:
		rawFuse(lists, sts, occs, groups, k)
	case RRFZ:
		rrfz(lists, sts, occs, groups, k, depth)
	case Interleave:
		interleave(occs, groups)
	case Calibrated:
		if calibrate(m, lists, occs, groups, opts.Auto) {
			break
		}
		rrf(lists, occs, groups, k)
		s = RRF
	case RRFCalibrated:
		share := rrfCalibratedShare
		if opts.Topical {
			share = rrfCalibratedTopicalShare
		}
		if rrfCalibrate(m, lists, occs, groups, opts.Auto, k, depth, share) {
			break
		}
		fallthrough
	default:
		rrf(lists, occs, groups, k)
		s = RRF
	}
	return s
}

// resolve turns AutoChoice into the Auto's current choice (Raw, Calibrated,
// RRFCalibrated or RRF). AutoChoice, Calibrated and RRFCalibrated are RRF
// without an Auto or when a list is rank-only (scores cannot be compared
// with ranks).
func resolve(lists []List, opts *Options) Strategy {
	s := opts.Strategy
	if s != AutoChoice && s != Calibrated && s != RRFCalibrated {
		return s
	}
	if opts.Auto == nil {
		return RRF
	}
	for i := range lists {
		if !isScored(lists[i].Hits) {
			return RRF
		}
	}
	if s == AutoChoice {
		return opts.Auto.Choice()
	}
	return s
}

// total sums the shards' totals (negative ones count as 0, the sum saturates)
// and says whether the sum is exact.
func total(lists []List, failed, removed int) (int64, Relation) {
	var t int64
	rel := Eq
	if failed > 0 || removed > 0 {
		rel = Gte
	}
	for i := range lists {
		t = addSat(t, max(lists[i].Total, 0))
		if lists[i].TotalRelation == Gte {
			rel = Gte
		}
	}
	return t, rel
}
