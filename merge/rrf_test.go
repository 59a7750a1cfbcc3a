package merge

import (
	"math"
	"testing"
)

// mergeCase is one table row of the strategy tests.
type mergeCase struct {
	name   string
	lists  []List
	opts   Options
	want   string    // page as shard/id@rank of the best occurrence
	scores []float64 // fused scores (to 1e-4), when checked
	rel    Relation
}

func TestMergeRRF(t *testing.T) {
	runCases(t, []mergeCase{
		{
			// a = 1/61 = .016393; b = 1/61 (B#1) + 1/62 (A#2) = .032522;
			// c = 1/63 = .015873; d = 1/62 = .016129.
			// b > a > d > c; b's body is its B#1 occurrence.
			name:   "dedupe sums and keeps best occurrence",
			lists:  []List{list("A", "a", "b", "c"), list("B", "b", "d")},
			opts:   Options{Dedupe: true},
			want:   "B/b@1 A/a@1 B/d@2 A/c@3",
			scores: []float64{1.0/61 + 1.0/62, 1.0 / 61, 1.0 / 62, 1.0 / 63},
			rel:    Gte, // the second b was fused away
		},
		{
			// Same as above without dedupe: b appears twice. Scores:
			// a 1/61, B/b 1/61, A/b 1/62, d 1/62, c 1/63. Ties on score
			// break by rank (equal) then shard order: A before B.
			name:  "no dedupe keeps every occurrence",
			lists: []List{list("A", "a", "b", "c"), list("B", "b", "d")},
			want:  "A/a@1 B/b@1 A/b@2 B/d@2 A/c@3",
			rel:   Eq,
		},
		{
			// Window [1, 3) of the dedupe case: a, d.
			name:  "window",
			lists: []List{list("A", "a", "b", "c"), list("B", "b", "d")},
			opts:  Options{Dedupe: true, Offset: 1, Limit: 2},
			want:  "A/a@1 B/d@2",
			rel:   Gte,
		},
		{
			// Offset past the end: empty page.
			name:  "window past end",
			lists: []List{list("A", "a")},
			opts:  Options{Offset: 5, Limit: 2},
			want:  "",
			rel:   Eq,
		},
		{
			// A weight 2: a 2/61 = .03279, b 2/62 = .03226; B weight 0 = 1:
			// c 1/61 = .01639, d 1/62 = .01613. Order a b c d.
			name:   "weights",
			lists:  []List{weighted(list("A", "a", "b"), 2), list("B", "c", "d")},
			want:   "A/a@1 A/b@2 B/c@1 B/d@2",
			scores: []float64{2.0 / 61, 2.0 / 62, 1.0 / 61, 1.0 / 62},
			rel:    Eq,
		},
		{
			// k = 1: B weight 3 at rank 2 gives 3/3 = 1; A rank 1 gives 1/2.
			// x = 1 (B#2), y = 1/2 (A#1), z = 1/3 (A#2) + 3/2 (B#1) = 1.8333.
			name:   "k and weight",
			lists:  []List{list("A", "y", "z"), weighted(list("B", "z", "x"), 3)},
			opts:   Options{K: 1, Dedupe: true},
			want:   "B/z@1 B/x@2 A/y@1",
			scores: []float64{1.0/3 + 3.0/2, 1, 0.5},
			rel:    Gte,
		},
		{
			// Empty IDs never fuse: the two "" hits stay apart, each 1/61;
			// a = 2/62 = .03226 > 1/61 = .01639.
			name:  "empty ids are not fused",
			lists: []List{list("A", "", "a"), list("B", "", "a")},
			opts:  Options{Dedupe: true},
			want:  "A/a@2 A/@1 B/@1",
			rel:   Gte,
		},
		{
			// A repeats a: only its first occurrence (rank 1) counts, so
			// a = 1/61, b = 1/63 (b keeps its rank 3).
			name:   "same shard duplicate votes once",
			lists:  []List{list("A", "a", "a", "b")},
			opts:   Options{Dedupe: true},
			want:   "A/a@1 A/b@3",
			scores: []float64{1.0 / 61, 1.0 / 63},
			rel:    Gte,
		},
		{
			name: "no lists",
			want: "",
			rel:  Eq,
		},
	})
}

func runCases(t *testing.T, cases []mergeCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			res := Merge(tt.lists, 0, tt.opts)
			if res.Hits == nil {
				t.Errorf("Hits is nil")
			}
			if got := render(res.Hits); got != tt.want {
				t.Errorf("order\n got %q\nwant %q", got, tt.want)
			}
			for i, s := range tt.scores {
				if i < len(res.Hits) && math.Abs(res.Hits[i].Score-s) > 1e-4 {
					t.Errorf("hit %d score %v, want %v", i, res.Hits[i].Score, s)
				}
			}
			if tt.rel != "" && res.TotalRelation != tt.rel {
				t.Errorf("relation %q, want %q", res.TotalRelation, tt.rel)
			}
			checkContributions(t, res)
		})
	}
}

func TestMergeRRFSources(t *testing.T) {
	res := Merge([]List{list("A", "a", "b"), list("B", "b")}, 0, Options{Dedupe: true})
	b := res.Hits[0]
	if b.ID != "b" || renderSources(b) != "B#1 A#2" {
		t.Fatalf("b: %s with sources %q, want B#1 A#2", b.ID, renderSources(b))
	}
	if s := b.Sources[1]; !near(s.Normalized, 1.0/62) || !near(s.Contribution, 1.0/62) {
		t.Errorf("A#2 source %+v, want normalized and contribution 1/62", s)
	}
}

func TestTotals(t *testing.T) {
	a, b := list("A", "a"), list("B", "b")
	a.Total, b.Total = 10, 5
	gte := b
	gte.TotalRelation = Gte
	tests := []struct {
		name   string
		lists  []List
		failed int
		want   int64
		rel    Relation
	}{
		{"exact", []List{a, b}, 0, 15, Eq},
		{"failed shard", []List{a, b}, 1, 15, Gte},
		{"shard lower bound", []List{a, gte}, 0, 15, Gte},
		{"negative total counts 0", []List{a, {Shard: "C", Total: -3}}, 0, 10, Eq},
	}
	for _, tt := range tests {
		res := Merge(tt.lists, tt.failed, Options{Dedupe: true})
		if res.Total != tt.want || res.TotalRelation != tt.rel {
			t.Errorf("%s: total %d %s, want %d %s", tt.name, res.Total, res.TotalRelation, tt.want, tt.rel)
		}
	}
}

// checkContributions asserts the explain invariant: the contributions of a
// fused hit's sources add up to its score.
func checkContributions(t *testing.T, res Result) {
	t.Helper()
	for _, h := range res.Hits {
		sum := 0.0
		for _, s := range h.Sources {
			sum += s.Contribution
		}
		if !near(sum, h.Score) {
			t.Errorf("%s/%s: contributions sum to %v, score %v", h.Shard, h.ID, sum, h.Score)
		}
	}
}
