package merge

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomValue draws numbers (with ties), strings and missing values, so
// that typed comparison, mixed kinds and missing-last are all exercised.
func randomValue(r *rand.Rand) Value {
	switch r.IntN(5) {
	case 0:
		return Value{}
	case 1, 2:
		return NumberValue(float64(r.IntN(7)) - 3 + []float64{0, 0.5}[r.IntN(2)])
	}
	return StringValue([]string{"a", "B", "b", "ab", "10", "9", ""}[r.IntN(7)])
}

// randomSortedLists draws 0–5 shards whose hits each shard sorted by order
// (ties in the shard's own relevance order, i.e. kept as drawn).
func randomSortedLists(r *rand.Rand, order []Order) []List {
	lists := make([]List, r.IntN(6))
	for i := range lists {
		l := &lists[i]
		l.Shard = fmt.Sprintf("s%d", i)
		l.Total = r.Int64N(100)
		for range r.IntN(12) {
			h := Hit{ID: fmt.Sprintf("d%d", r.IntN(25)), Score: r.Float64(), Scored: true}
			for range r.IntN(len(order) + 1) {
				h.Keys = append(h.Keys, randomValue(r))
			}
			l.Hits = append(l.Hits, h)
		}
		slices.SortStableFunc(l.Hits, func(a, b Hit) int { return CompareHits(&a, &b, order) })
	}
	return lists
}

type located struct {
	hit        *Hit
	list, rank int
}

// sortUnion is the specification: every hit of every list, sorted by the
// sort, then rank, then shard order; with dedupe only an ID's first one.
func sortUnion(lists []List, order []Order, dedupe bool) []located {
	var all []located
	for l := range lists {
		for i := range lists[l].Hits {
			all = append(all, located{&lists[l].Hits[i], l, i + 1})
		}
	}
	slices.SortFunc(all, func(a, b located) int {
		if c := CompareHits(a.hit, b.hit, order); c != 0 {
			return c
		}
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return a.list - b.list
	})
	if !dedupe {
		return all
	}
	seen := map[string]bool{}
	out := all[:0]
	for _, x := range all {
		if !seen[x.hit.ID] {
			seen[x.hit.ID] = true
			out = append(out, x)
		}
	}
	return out
}

// TestSortedEqualsSortingTheUnion is the property the sorted merge rests
// on: for any shards' sorted pages, the merged order is the union sorted,
// and any window of it is the same slice of that order.
func TestSortedEqualsSortingTheUnion(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for iter := range 3000 {
		order := []Order{{Field: "f", Desc: r.IntN(2) == 0}}
		if r.IntN(2) == 0 {
			order = append(order, Order{Field: "g", Desc: r.IntN(2) == 0})
		}
		lists := randomSortedLists(r, order)
		dedupe := r.IntN(2) == 0
		want := sortUnion(lists, order, dedupe)
		all := Sorted(lists, 0, order, Options{Dedupe: dedupe})
		if len(all.Hits) != len(want) {
			t.Fatalf("iter %d: %d hits, want %d", iter, len(all.Hits), len(want))
		}
		for i, w := range want {
			got := all.Hits[i]
			if got.Shard != lists[w.list].Shard || got.Rank != w.rank {
				t.Fatalf("iter %d (order %+v, dedupe %v): hit %d is %s#%d, want %s#%d",
					iter, order, dedupe, i, got.Shard, got.Rank, lists[w.list].Shard, w.rank)
			}
		}
		off, lim := r.IntN(len(want)+2), 1+r.IntN(5)
		page := Sorted(lists, 0, order, Options{Dedupe: dedupe, Offset: off, Limit: lim})
		lo, hi := window(len(want), off, lim)
		if len(page.Hits) != hi-lo {
			t.Fatalf("iter %d: page [%d,+%d) has %d hits, want %d", iter, off, lim, len(page.Hits), hi-lo)
		}
		for i := range page.Hits {
			if page.Hits[i].Shard != all.Hits[lo+i].Shard || page.Hits[i].Rank != all.Hits[lo+i].Rank {
				t.Fatalf("iter %d: page hit %d differs from the full list's hit %d", iter, i, lo+i)
			}
		}
	}
}

func TestCompareValuesTyped(t *testing.T) {
	num, str, miss := NumberValue, StringValue, Value{}
	cases := []struct {
		a, b Value
		desc bool
		want int
	}{
		{num(9), num(10), false, -1}, // numbers as numbers, not "10" < "9"
		{str("9"), str("10"), false, 1},
		{num(9), num(10), true, 1},
		{miss, num(1), false, 1}, // missing last ...
		{miss, num(1), true, 1},  // ... in both directions
		{num(1e9), str("a"), false, -1},
		{num(1e9), str("a"), true, 1},
		{NumberValue(nanValue()), miss, false, 0},
	}
	for _, c := range cases {
		if got := compareValues(c.a, c.b, c.desc); got != c.want {
			t.Errorf("compare(%+v, %+v, desc=%v) = %d, want %d", c.a, c.b, c.desc, got, c.want)
		}
	}
}

func nanValue() float64 { z := 0.0; return z / z }

func TestSortedTotalsAndProvenance(t *testing.T) {
	a := List{Shard: "a", Total: 10, Hits: []Hit{{ID: "x", Keys: []Value{NumberValue(1)}}, {ID: "y", Keys: []Value{NumberValue(3)}}}}
	b := List{Shard: "b", Total: 5, Hits: []Hit{{ID: "x", Keys: []Value{NumberValue(1)}}, {ID: "z", Keys: []Value{NumberValue(2)}}}}
	res := Sorted([]List{a, b}, 1, []Order{{Field: "price"}}, Options{Dedupe: true, Limit: 10})
	var ids []string
	for _, h := range res.Hits {
		ids = append(ids, h.ID)
	}
	if !slices.Equal(ids, []string{"x", "z", "y"}) {
		t.Fatalf("order %v, want [x z y]", ids)
	}
	if len(res.Hits[0].Sources) != 2 || res.Total != 15 || res.TotalRelation != Gte || res.Strategy != SortedStrategy {
		t.Fatalf("sources %d total %d %s strategy %s", len(res.Hits[0].Sources), res.Total, res.TotalRelation, res.Strategy)
	}
}
