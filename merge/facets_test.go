package merge

import (
	"fmt"
	"strings"
	"testing"
)

func TestFacets(t *testing.T) {
	a := list("A", "a")
	a.Facets = map[string]map[string]int64{"color": {"red": 3, "blue": 1}}
	b := list("B", "b")
	b.Facets = map[string]map[string]int64{"color": {"blue": 2, "green": 2}, "size": {"L": 1}}
	trunc := b
	trunc.FacetsTruncated = true
	tests := []struct {
		name      string
		lists     []List
		failed    int
		maxValues int
		want      string
	}{
		{
			// color: red 3, blue 1+2 = 3, green 2 → blue 3 and red 3 tie on
			// count and sort by value; size: L 1. Facets by name.
			name:  "summed and ordered",
			lists: []List{a, b},
			want:  "color exact [blue:3 red:3 green:2]; size exact [L:1]",
		},
		{
			name:      "cut values make the facet inexact",
			lists:     []List{a, b},
			maxValues: 2,
			want:      "color inexact [blue:3 red:3]; size exact [L:1]",
		},
		{
			name:   "failed shard",
			lists:  []List{a, b},
			failed: 1,
			want:   "color inexact [blue:3 red:3 green:2]; size inexact [L:1]",
		},
		{
			name:  "truncated shard",
			lists: []List{a, trunc},
			want:  "color inexact [blue:3 red:3 green:2]; size inexact [L:1]",
		},
		{
			// A facet a shard returned without values stays, empty or
			// with the other shards' values.
			name: "facet without values",
			lists: []List{
				{Shard: "A", Facets: map[string]map[string]int64{"size": {}, "color": {}}},
				{Shard: "B", Facets: map[string]map[string]int64{"color": {"": 2, "red": 1}}},
			},
			want: "color exact [:2 red:1]; size exact []",
		},
		{
			name:  "no facets",
			lists: []List{list("A", "a")},
			want:  "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Merge(tt.lists, tt.failed, Options{MaxFacetValues: tt.maxValues})
			if got := renderFacets(res.Facets); got != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func renderFacets(fs []Facet) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		vals := make([]string, len(f.Values))
		for j, v := range f.Values {
			vals[j] = fmt.Sprintf("%s:%d", v.Value, v.Count)
		}
		exact := "exact"
		if !f.Exact {
			exact = "inexact"
		}
		parts[i] = fmt.Sprintf("%s %s [%s]", f.Name, exact, strings.Join(vals, " "))
	}
	return strings.Join(parts, "; ")
}
