package merge

// Strategy names a fusion method.
type Strategy string

// Fusion strategies; their formulas are in the package documentation. The
// empty and unknown strategies act as RRF.
const (
	RRF        Strategy = "rrf"        // Σ weight/(k+rank)
	RRFZ       Strategy = "rrf_z"      // mean of per-shard z-score and z-scored RRF
	Score      Strategy = "score"      // per-shard normalized scores, weighted, combined
	Raw        Strategy = "raw"        // engine scores as they are (same engine only)
	Interleave Strategy = "interleave" // round robin by shard
	Calibrated Strategy = "calibrated" // Σ weight·F_s(score), F_s the shard's recent score CDF (needs Options.Auto)
	// RRFCalibrated is 0.9·z(RRF) + 0.1·z(Calibrated), z standardizing
	// over the fused documents (needs Options.Auto); 0.6 and 0.4 with
	// Options.Topical.
	RRFCalibrated Strategy = "rrf_calibrated"
	AutoChoice    Strategy = "auto" // Raw, Calibrated or RRFCalibrated from the score distributions
)

// Normalizer names a per-shard score normalizer for the Score strategy.
// Statistics are over the list's top Depth values (Montague & Aslam 2001).
type Normalizer string

// Normalizers. The empty and unknown normalizers act as MinMax.
const (
	MinMax Normalizer = "minmax" // (v − min)/(max − min); 1 when all are equal
	ZScore Normalizer = "zscore" // (v − mean)/σ; 0 when σ = 0
	L2     Normalizer = "l2"     // v/‖v‖₂; 0 when the norm is 0
	Max    Normalizer = "max"    // v/|max|; 0 when max = 0
	None   Normalizer = "none"   // v
)

// Combine names how the Score strategy combines a duplicate's contributions.
type Combine string

// Combinations (Fox & Shaw 1994). The empty and unknown ones act as Sum.
const (
	Sum Combine = "sum" // CombSUM
	MNZ Combine = "mnz" // CombMNZ: sum × number of shards that returned it
)

// Options configure Merge. The zero value is RRF with k=60, dedupe off, no
// window (all hits).
type Options struct {
	Strategy Strategy
	// K is the RRF constant (also used by RRFZ and for rank-derived
	// scores); 0, negative and NaN mean 60; capped at 1e12.
	K          float64
	Normalizer Normalizer // for Score; "" means minmax
	Combine    Combine    // for Score; "" means sum
	// Depth is how many top hits per shard the statistics of Score, RRFZ
	// and RRFCalibrated use, so that scores do not change with the page
	// size as long as each shard is asked for at least Depth hits; 0
	// means 100.
	Depth int
	// Dedupe fuses hits that share a non-empty ID (see Merge).
	Dedupe bool
	// Offset and Limit cut the fused list to [Offset, Offset+Limit);
	// Limit 0 (or negative) means no cut, a negative Offset counts as 0.
	Offset, Limit int
	// MaxFacetValues caps the values kept per facet; 0 means 100.
	MaxFacetValues int
	// Topical declares that the shards hold different parts of the
	// collection by topic (a section, a source, a kind of document each),
	// not one collection spread by a hash: a query's relevant documents
	// then gather on few shards. RRFCalibrated (also when AutoChoice
	// applies it) then gives the calibrated term a share of 0.4 instead of
	// 0.1, so that the shard answering far above its usual level moves up
	// further. Nothing in the answers tells the two splits apart, hence a
	// declaration. Other strategies ignore it.
	Topical bool
	// Auto holds the score history for the AutoChoice, Calibrated and
	// RRFCalibrated strategies; nil makes them behave as RRF. Merge only
	// reads it: the caller feeds it with Auto.Observe and runs Auto.Refresh
	// periodically.
	Auto *Auto
}

// Result is a merged answer.
type Result struct {
	// Hits is the requested window of the fused list; never nil.
	Hits []Fused
	// Total sums the shards' totals; Gte when a shard failed, a shard's
	// total was itself a lower bound, or dedupe removed hits.
	Total         int64
	TotalRelation Relation
	// Facets are ordered by name; nil when no shard returned any.
	Facets []Facet
	// Strategy is the strategy actually applied (AutoChoice resolves to
	// Raw, Calibrated, RRFCalibrated or RRF; strategies fall back as their
	// docs say).
	Strategy Strategy
}
