package merge

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// SortedStrategy is the Strategy a [Sorted] merge reports: hits ordered by document
// fields, not fused by relevance.
const SortedStrategy Strategy = "sort"

// Kind is the type of a sort value. Values of different kinds compare by
// kind: numbers before strings in ascending order.
type Kind uint8

// Kinds of sort values.
const (
	// Missing is a document without a value for the field (or with null):
	// it sorts last whatever the direction, as every engine's default does.
	Missing Kind = iota
	Number
	String
)

// Value is one hit's value of one sort field.
type Value struct {
	Kind Kind
	Num  float64
	Str  string
}

// NumberValue is a numeric sort value; NaN is Missing.
func NumberValue(f float64) Value {
	if math.IsNaN(f) {
		return Value{}
	}
	return Value{Kind: Number, Num: f}
}

// StringValue is a string sort value.
func StringValue(s string) Value { return Value{Kind: String, Str: s} }

// Order is one field of a sort: its name (for explanations) and direction.
type Order struct {
	Field string
	Desc  bool
}

// compareValues orders a before b (-1), after (1) or level (0) in the
// direction desc; Missing is last in both directions.
func compareValues(a, b Value, desc bool) int {
	switch {
	case a.Kind == Missing && b.Kind == Missing:
		return 0
	case a.Kind == Missing:
		return 1
	case b.Kind == Missing:
		return -1
	}
	c := cmp.Compare(a.Kind, b.Kind)
	if c == 0 {
		if a.Kind == Number {
			c = cmp.Compare(a.Num, b.Num)
		} else {
			c = strings.Compare(a.Str, b.Str)
		}
	}
	if desc {
		return -c
	}
	return c
}

// keyAt is the hit's i-th sort value, Missing past its Keys.
func keyAt(h *Hit, i int) Value {
	if i < len(h.Keys) {
		return h.Keys[i]
	}
	return Value{}
}

// CompareHits orders two hits by the sort: each field in turn (typed, missing
// last). It returns 0 when every field is level; [Sorted] then breaks the
// tie by relevance (the shard's rank, then shard order).
func CompareHits(a, b *Hit, order []Order) int {
	for i, o := range order {
		if c := compareValues(keyAt(a, i), keyAt(b, i), o.Desc); c != 0 {
			return c
		}
	}
	return 0
}

// sortPos locates one hit: lists[l].Hits[pos].
type sortPos struct{ l, pos int }

// Sorted merges lists that every shard sorted by order (Hit.Keys holding
// each hit's values) into one list in that order: an exact merge.
// Hits level on every field keep relevance order as the last tie-break:
// better shard rank first, then shard order. When each list is sorted so,
// the result is the union of the lists sorted by that total order, and
// consecutive windows tile it exactly.
//
// With opts.Dedupe, a hit whose non-empty ID was already met is folded into
// the first occurrence (a second occurrence from the same shard is dropped),
// as Merge does. Result.Hits is the window [opts.Offset, opts.Offset+
// opts.Limit); totals and facets are as Merge computes them. A fused hit's
// Score is its engine score (0 when unscored); Sources list its occurrences
// in merge order, the first contributing the whole score. The strategy and
// its other options are ignored.
func Sorted(lists []List, failed int, order []Order, opts Options) Result {
	occs, groups, removed := sortedCollect(lists, order, opts.Dedupe)
	lo, hi := window(len(groups), opts.Offset, opts.Limit)
	idx := make([]int32, 0, hi-lo)
	for g := lo; g < hi; g++ {
		idx = append(idx, int32(g))
	}
	res := Result{Strategy: SortedStrategy, Hits: build(lists, occs, groups, idx)}
	res.Total, res.TotalRelation = total(lists, failed, removed)
	var m Merger
	res.Facets = facets(&m, lists, failed, opts.MaxFacetValues)
	return res
}

// sortedCollect sorts the union of the lists by the sort, then rank, then
// shard order, and groups duplicates; groups come out in that order, each
// chain in that order. Sorting the union gives what a k-way merge of
// shard-sorted lists gives, and stays right when a shard's order disagrees
// with the typed comparison (another collation, missing values first).
func sortedCollect(lists []List, order []Order, dedupe bool) (occs []occ, groups []group, removed int) {
	n := 0
	for i := range lists {
		n += len(lists[i].Hits)
	}
	all := make([]sortPos, 0, n)
	for l := range lists {
		for pos := range lists[l].Hits {
			all = append(all, sortPos{l, pos})
		}
	}
	slices.SortFunc(all, func(a, b sortPos) int {
		if c := CompareHits(&lists[a.l].Hits[a.pos], &lists[b.l].Hits[b.pos], order); c != 0 {
			return c
		}
		if a.pos != b.pos {
			return cmp.Compare(a.pos, b.pos)
		}
		return cmp.Compare(a.l, b.l)
	})
	occs = make([]occ, 0, n)
	groups = make([]group, 0, n)
	var seen map[string]int32
	if dedupe {
		seen = make(map[string]int32, n)
	}
	for _, c := range all {
		hit := &lists[c.l].Hits[c.pos]
		score := rawScore(hit)
		o := occ{list: int32(c.l), rank: int32(c.pos + 1), next: -1, norm: score}
		g, dup := int32(-1), false
		if dedupe && hit.ID != "" {
			g, dup = seen[hit.ID]
		}
		switch {
		case !dup:
			if dedupe && hit.ID != "" {
				seen[hit.ID] = int32(len(groups))
			}
			o.contrib = score
			groups = append(groups, group{first: int32(len(occs)), last: int32(len(occs)), n: 1, score: score})
			occs = append(occs, o)
		case !hasList(occs, groups[g].first, int32(c.l)):
			removed++
			occs = append(occs, o)
			occs[groups[g].last].next = int32(len(occs) - 1)
			groups[g].last = int32(len(occs) - 1)
			groups[g].n++
		default:
			removed++
		}
	}
	return occs, groups, removed
}
