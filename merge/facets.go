package merge

import (
	"cmp"
	"math"
	"slices"
)

// defaultMaxFacetValues caps the values kept per facet when Options leave it 0.
const defaultMaxFacetValues = 100

// facetCount is one shard's count of one facet value.
type facetCount struct {
	name, value string
	count       int64
	// empty marks a facet a shard returned without values.
	empty bool
}

// facets sums each facet's value counts across lists, keeps the top maxValues
// values (count descending, then value ascending) and orders facets by name.
// A facet is Exact only when no shard failed, no shard truncated its facets
// and no value was cut here.
//
// The counts are gathered into one slice and sorted by (name, value), so the
// shards' map iteration order cannot show and no map is built.
func facets(m *Merger, lists []List, failed int, maxValues int) []Facet {
	if maxValues <= 0 {
		maxValues = defaultMaxFacetValues
	}
	exact := failed <= 0
	n := 0
	for i := range lists {
		exact = exact && !lists[i].FacetsTruncated
		for _, values := range lists[i].Facets {
			n += max(len(values), 1)
		}
	}
	if n == 0 {
		return nil
	}
	all := slices.Grow(m.facets[:0], n)
	for i := range lists {
		for name, values := range lists[i].Facets {
			if len(values) == 0 { // keep the facet, with no values
				all = append(all, facetCount{name: name, empty: true})
			}
			for v, c := range values {
				all = append(all, facetCount{name: name, value: v, count: c})
			}
		}
	}
	slices.SortFunc(all, func(a, b facetCount) int {
		if c := cmp.Compare(a.name, b.name); c != 0 {
			return c
		}
		if a.empty != b.empty { // placeholders first
			if a.empty {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.value, b.value)
	})
	m.facets = all
	all = sumRuns(all)
	var out []Facet
	for len(all) > 0 {
		end := 1
		for end < len(all) && all[end].name == all[0].name {
			end++
		}
		out = append(out, facet(all[:end], maxValues, exact))
		all = all[end:]
	}
	return out
}

// sumRuns folds runs of equal (name, value) of a sorted slice into one entry
// holding their summed count, in place.
func sumRuns(all []facetCount) []facetCount {
	w := 0
	for i := range all {
		if w > 0 && all[w-1].name == all[i].name && all[w-1].value == all[i].value && all[w-1].empty == all[i].empty {
			all[w-1].count = addSat(all[w-1].count, all[i].count)
			continue
		}
		all[w] = all[i]
		w++
	}
	return all[:w]
}

// facet orders one facet's summed values and cuts them to maxValues.
func facet(counts []facetCount, maxValues int, exact bool) Facet {
	name := counts[0].name
	if counts[0].empty {
		counts = counts[1:]
	}
	slices.SortStableFunc(counts, func(a, b facetCount) int {
		return cmp.Compare(b.count, a.count) // values stay ascending on ties
	})
	if len(counts) > maxValues {
		counts = counts[:maxValues]
		exact = false
	}
	vals := make([]FacetValue, len(counts))
	for i, c := range counts {
		vals[i] = FacetValue{Value: c.value, Count: c.count}
	}
	return Facet{Name: name, Values: vals, Exact: exact}
}

// addSat adds without wrapping around: sums saturate at the int64 bounds, so
// absurd shard counts cannot turn a large count negative.
func addSat(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}
