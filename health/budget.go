package health

import "sync/atomic"

// DefaultBurst is the number of hedges a Budget allows back to back, and the
// most tokens it holds.
const DefaultBurst = 10

// tokenUnit is one token in the Budget's fixed-point count, fine enough that
// percentages with up to four decimals add up exactly.
const tokenUnit = 1_000_000

// Budget caps hedged requests at a share of primary requests, as Finagle's
// retry budget caps retries: every primary request earns percent/100 of a
// token, every hedge spends one, and the bucket holds at most burst tokens.
// Over n primaries it allows at most burst + n×percent/100 hedges, so a slow
// shard cannot double its own load. It starts full. It is lock-free; a nil
// *Budget allows every hedge.
type Budget struct {
	tokens atomic.Int64 // in tokenUnit
	earn   int64
	burst  int64
}

// NewBudget returns a full Budget allowing percent hedges per hundred primary
// requests (0 to 100) plus bursts of burst; burst ≤ 0 means [DefaultBurst].
func NewBudget(percent, burst float64) *Budget {
	if burst <= 0 {
		burst = DefaultBurst
	}
	b := &Budget{
		earn:  int64(min(max(percent, 0), 100) / 100 * tokenUnit),
		burst: int64(burst * tokenUnit),
	}
	b.tokens.Store(b.burst)
	return b
}

// Earn credits one primary request. Call it once per primary, hedged or not.
func (b *Budget) Earn() {
	if b == nil {
		return
	}
	for {
		v := b.tokens.Load()
		if v >= b.burst {
			return
		}
		if b.tokens.CompareAndSwap(v, min(v+b.earn, b.burst)) {
			return
		}
	}
}

// Allow reports whether a hedge may be sent now, spending a token if so.
func (b *Budget) Allow() bool {
	if b == nil {
		return true
	}
	for {
		v := b.tokens.Load()
		if v < tokenUnit {
			return false
		}
		if b.tokens.CompareAndSwap(v, v-tokenUnit) {
			return true
		}
	}
}

// Tokens returns the hedges the budget would allow right now, for status pages.
func (b *Budget) Tokens() float64 {
	if b == nil {
		return 0
	}
	return float64(b.tokens.Load()) / tokenUnit
}
