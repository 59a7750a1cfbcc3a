package merge

import "testing"

func TestMergeRRFZ(t *testing.T) {
	runCases(t, []mergeCase{
		{
			// Per-shard z: A 3, 2, 1 → 1.2247, 0, −1.2247;
			// B 2, 2, −1 (μ 1, σ √2) → .7071, .7071, −1.4142.
			// RRF 1/61, 1/62, 1/63 in both, z-scored over the six hits
			// (μ .0161318, σ .000212462) → 1.2313, −.0132, −1.2181.
			// Scores (z + zR)/2: A1 1.2280, B1 .9692, B2 .3470,
			// A2 −.0066, A3 −1.2214, B3 −1.3162. RRF alone would put A2
			// before B2; the score orders within the rank level.
			name:   "z orders within a rank level",
			lists:  []List{scored("A", "a1", 3.0, "a2", 2.0, "a3", 1.0), scored("B", "b1", 2.0, "b2", 2.0, "b3", -1.0)},
			opts:   Options{Strategy: RRFZ},
			want:   "A/a1@1 B/b1@1 B/b2@2 A/a2@2 A/a3@3 B/b3@3",
			scores: []float64{1.2280, 0.9692, 0.3470, -0.0066, -1.2214, -1.3162},
		},
		{
			// Two shards of two hits, x in both: z is ±1 per shard.
			// RRF: x 1/61 + 1/62 = .032523, a 1/62 = .016129,
			// b 1/61 = .016393 (over best rank ≤ 100: all three);
			// μ .021682 → z x 1.4141, a −.7243, b −.6898.
			// Z: x (1 + (−1))/2 = 0 (A#1 z +1, B#2 z −1); a −1; b +1.
			// x (0 + 1.4141)/2 = .7070; b (1 − .6898)/2 = .1551;
			// a (−1 − .7243)/2 = −.8621.
			name:   "duplicates gain through RRF",
			lists:  []List{scored("A", "x", 5.0, "a", 1.0), scored("B", "b", 8.0, "x", 2.0)},
			opts:   Options{Strategy: RRFZ, Dedupe: true},
			want:   "A/x@1 B/b@1 A/a@2",
			scores: []float64{0.7070, 0.1551, -0.8621},
		},
		{
			// Auto without history is RRF: rank levels, shard A first on ties.
			name:  "auto without Auto",
			lists: []List{scored("A", "a1", 3.0, "a2", 2.0, "a3", 1.0), scored("B", "b1", 2.0, "b2", 2.0, "b3", -1.0)},
			opts:  Options{Strategy: AutoChoice},
			want:  "A/a1@1 B/b1@1 A/a2@2 B/b2@2 A/a3@3 B/b3@3",
		},
	})
}
