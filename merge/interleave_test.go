package merge

import "testing"

func TestMergeInterleave(t *testing.T) {
	lists := []List{
		scored("A", "a", 1.0, "b", 0.5, "c", 0.1),
		weighted(scored("B", "d", 100.0, "a", 50.0), 10),
		scored("C", "e", 3.0),
	}
	runCases(t, []mergeCase{
		{
			// Rank 1 of A, B, C; rank 2 of A, B; rank 3 of A. Scores and
			// weights play no part.
			name:   "round robin",
			lists:  lists,
			opts:   Options{Strategy: Interleave},
			want:   "A/a@1 B/d@1 C/e@1 A/b@2 B/a@2 A/c@3",
			scores: []float64{1, 1, 1, 0.5, 0.5, 1.0 / 3},
		},
		{
			// B's a is a already shown at A#1: its slot closes up.
			name:  "dedupe closes slots",
			lists: lists,
			opts:  Options{Strategy: Interleave, Dedupe: true},
			want:  "A/a@1 B/d@1 C/e@1 A/b@2 A/c@3",
		},
	})
}
