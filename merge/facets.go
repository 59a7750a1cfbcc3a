package merge

import (
	"cmp"
	"math"
	"slices"
)

// defaultMaxFacetValues caps the values kept per facet when Options leave it 0.
const defaultMaxFacetValues = 100

// facets sums each facet's value counts across lists, keeps the top maxValues
// values (count descending, then value ascending) and orders facets by name.
// A facet is Exact only when no shard failed, no shard truncated its facets
// and no value was cut here.
func facets(lists []List, failed int, maxValues int) []Facet {
	if maxValues <= 0 {
		maxValues = defaultMaxFacetValues
	}
	var sums map[string]map[string]int64
	truncated := failed > 0
	for i := range lists {
		truncated = truncated || lists[i].FacetsTruncated
		if len(lists[i].Facets) == 0 {
			continue
		}
		if sums == nil {
			sums = make(map[string]map[string]int64, len(lists[i].Facets))
		}
		for name, values := range lists[i].Facets {
			m := sums[name]
			if m == nil {
				m = make(map[string]int64, len(values))
				sums[name] = m
			}
			for v, c := range values {
				m[v] = addSat(m[v], c)
			}
		}
	}
	if len(sums) == 0 {
		return nil
	}
	out := make([]Facet, 0, len(sums))
	for name, m := range sums {
		out = append(out, facet(name, m, maxValues, !truncated))
	}
	slices.SortFunc(out, func(a, b Facet) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// facet orders one facet's summed values and cuts them to maxValues.
func facet(name string, m map[string]int64, maxValues int, exact bool) Facet {
	vals := make([]FacetValue, 0, len(m))
	for v, c := range m {
		vals = append(vals, FacetValue{Value: v, Count: c})
	}
	slices.SortFunc(vals, func(a, b FacetValue) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Value, b.Value)
	})
	if len(vals) > maxValues {
		vals = vals[:maxValues:maxValues]
		exact = false
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
