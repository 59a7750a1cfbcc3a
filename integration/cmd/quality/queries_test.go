package main

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestFileQueriesJudged: -queries lines that are debtags descriptions are
// judged by their tag, and the debtags nDCG@10 over them is a number, also
// when some line describes a tag no document of the corpus carries (which
// made every strategy's nDCG NaN).
func TestFileQueriesJudged(t *testing.T) {
	vocab := map[string]string{
		"works-with::text": "Text",
		"use::editing":     "Editing",
		"x11::font":        "Font", // carried by no document
		"made-of::font":    "Font",
		"game::rpg":        "Role playing games",
	}
	rel := map[string]int{"works-with::text": 2, "use::editing": 5, "made-of::font": 3, "game::rpg": 1}
	path := filepath.Join(t.TempDir(), "queries.txt")
	lines := "# comment\nediting\nFONT\nrole playing games\n\nvim emacs\ntext\n"
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	qs, unjudged, err := fileQueries(path, vocab, rel, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []query{
		{Text: "editing", Tag: "use::editing", Kind: "file"},
		{Text: "FONT", Tag: "made-of::font", Kind: "file"}, // the tag documents carry
		{Text: "role playing games", Kind: "file"},         // 1 document < min-rel 2
		{Text: "vim emacs", Kind: "file"},
		{Text: "text", Tag: "works-with::text", Kind: "file"},
	}
	if len(qs) != len(want) || unjudged != 1 {
		t.Fatalf("got %d queries, %d unjudged: %+v", len(qs), unjudged, qs)
	}
	for i := range want {
		if qs[i] != want[i] {
			t.Errorf("query %d = %+v, want %+v", i, qs[i], want[i])
		}
	}

	tagsOf := map[string]map[string]bool{
		"vim":   {"use::editing": true, "works-with::text": true},
		"nano":  {"use::editing": true},
		"fonty": {"made-of::font": true},
	}
	ranked := [][]string{{"vim", "nano"}, {"x", "fonty"}, {"nethack"}, {"vim"}, {"nano"}}
	got, n := debtagsNDCG(ranked, qs, tagsOf, rel)
	// editing: 2 of 5 relevant at ranks 1, 2; font: rank 2 of 3; text: none of 2.
	idcg := func(m int) float64 {
		s := 0.0
		for i := range m {
			s += 1 / math.Log2(float64(i+2))
		}
		return s
	}
	wantNDCG := (idcg(2)/idcg(5) + (1/math.Log2(3))/idcg(3) + 0) / 3
	if n != 3 || math.Abs(got-wantNDCG) > 1e-12 {
		t.Errorf("debtags nDCG@10 = %v over %d queries, want %v over 3", got, n, wantNDCG)
	}
	// A judged query whose tag no document carries is left out, not NaN.
	qs[2].Tag = "x11::font"
	if got, n := debtagsNDCG(ranked, qs, tagsOf, rel); n != 3 || math.Abs(got-wantNDCG) > 1e-12 {
		t.Errorf("with an uncarried tag: %v over %d queries", got, n)
	}
}
