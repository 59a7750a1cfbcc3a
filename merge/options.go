package merge

// Strategy names a fusion method.
type Strategy string

// Fusion strategies. See the godoc of each implementation for its formula.
const (
	RRF        Strategy = "rrf"        // Σ weight/(k+rank)
	RRFZ       Strategy = "rrf_z"      // mean of per-shard z-score and z-scored RRF
	Score      Strategy = "score"      // per-shard normalized scores, weighted, combined
	Raw        Strategy = "raw"        // engine scores as they are (same engine only)
	Interleave Strategy = "interleave" // round robin by shard
	AutoChoice Strategy = "auto"       // Raw when score distributions match, else RRFZ
)

// Normalizer names a per-shard score normalizer for the Score strategy.
type Normalizer string

// Normalizers.
const (
	MinMax Normalizer = "minmax"
	ZScore Normalizer = "zscore"
	L2     Normalizer = "l2"
	Max    Normalizer = "max"
	None   Normalizer = "none"
)

// Combine names how the Score strategy combines a duplicate's contributions.
type Combine string

// Combinations.
const (
	Sum Combine = "sum" // CombSUM
	MNZ Combine = "mnz" // CombMNZ: sum × number of shards that returned it
)

// Options configure Merge. The zero value is RRF with k=60, dedupe off, no
// window (all hits).
type Options struct {
	Strategy   Strategy
	K          float64    // RRF constant; 0 means 60
	Normalizer Normalizer // for Score; "" means minmax
	Combine    Combine    // for Score; "" means sum
	// Depth is how many top hits per shard normalizer statistics use, so that
	// results do not change with the page size; 0 means 100.
	Depth  int
	Dedupe bool
	// Offset and Limit cut the fused list to [Offset, Offset+Limit);
	// Limit 0 means no cut.
	Offset, Limit int
	// MaxFacetValues caps the values kept per facet; 0 means 100.
	MaxFacetValues int
	// Auto holds the score history for the AutoChoice strategy; nil makes
	// AutoChoice behave as RRFZ.
	Auto *Auto
}

// Result is a merged answer.
type Result struct {
	// Hits is the requested window of the fused list.
	Hits []Fused
	// Total sums the shards' totals; Gte when a shard failed, a shard's
	// total was itself a lower bound, or dedupe removed hits.
	Total         int64
	TotalRelation Relation
	Facets        []Facet
	// Strategy is the strategy actually applied (AutoChoice resolves to Raw
	// or RRFZ; strategies fall back as their docs say).
	Strategy Strategy
}
