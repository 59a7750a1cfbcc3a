package merge

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// list builds a List whose hits have the given IDs in rank order, unscored.
func list(shard string, ids ...string) List {
	l := List{Shard: shard, Total: int64(len(ids))}
	for _, id := range ids {
		l.Hits = append(l.Hits, Hit{ID: id, Doc: []byte(`{"id":"` + id + `"}`)})
	}
	return l
}

// scored builds a List of scored hits: pairs of ID and score.
func scored(shard string, pairs ...any) List {
	l := List{Shard: shard}
	for i := 0; i+1 < len(pairs); i += 2 {
		l.Hits = append(l.Hits, Hit{ID: pairs[i].(string), Score: pairs[i+1].(float64), Scored: true})
	}
	l.Total = int64(len(l.Hits))
	return l
}

// weighted sets a list's weight.
func weighted(l List, w float64) List { l.Weight = w; return l }

// render renders a page as "shard/id@rank" entries, the form the tests'
// expectations are written in.
func render(hits []Fused) string {
	parts := make([]string, len(hits))
	for i, h := range hits {
		parts[i] = fmt.Sprintf("%s/%s@%d", h.Shard, h.ID, h.Rank)
	}
	return strings.Join(parts, " ")
}

// renderSources renders a fused hit's provenance as "shard#rank" entries.
func renderSources(f Fused) string {
	parts := make([]string, len(f.Sources))
	for i, s := range f.Sources {
		parts[i] = fmt.Sprintf("%s#%d", s.Shard, s.Rank)
	}
	return strings.Join(parts, " ")
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(a), math.Abs(b)) }

// historyAuto is an Auto refreshed over 20 answers of shards s0 … s(n−1),
// shard i scoring uniformly in [0, 10·(1+i/2)): overlapping distributions
// at different scales, so that it chooses Calibrated (or Raw with hint) and
// holds a quantile table for every shard.
func historyAuto(hint bool, n int) *Auto {
	r := rand.New(rand.NewPCG(6, 6))
	auto := NewAuto(hint)
	for range 20 {
		lists := make([]List, n)
		for i := range lists {
			scale := 10 * (1 + float64(i)/2)
			lists[i] = answer(fmt.Sprintf("s%d", i), 10, func() float64 { return scale * r.Float64() })
		}
		auto.Observe(lists)
	}
	auto.Refresh()
	return auto
}
