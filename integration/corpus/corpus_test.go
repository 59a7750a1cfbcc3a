package corpus

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
)

const fixture = `Package: 0ad
Version: 0.0.26-3
Description: Real-time strategy game of ancient warfare
Tag: game::strategy, interface::graphical,
 use::gameplaying
Section: games

Package: 0ad
Version: 0.0.25
Description: older duplicate
Section: games

Package: nvidia-thing
Description: Proprietary driver
Section: non-free/kernel
`

const translation = `Package: 0ad
Description-md5: d943033bedada21853d2ae54a2578a7b
Description-en: Real-time strategy game of ancient warfare
 0 A.D. is a free, open-source game.
 .
 Second paragraph.
`

func TestParse(t *testing.T) {
	docs, err := Parse(strings.NewReader(fixture))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Fatalf("got %d docs, want 2 (duplicates dropped): %+v", len(docs), docs)
	}
	d := docs[0]
	if d.ID != "0ad" || d.Title != "Real-time strategy game of ancient warfare" || d.Section != "games" {
		t.Errorf("doc 0 = %+v", d)
	}
	if want := []string{"game::strategy", "interface::graphical", "use::gameplaying"}; strings.Join(d.Tags, "|") != strings.Join(want, "|") {
		t.Errorf("tags = %q, want %q", d.Tags, want)
	}
	if docs[1].Section != "kernel" {
		t.Errorf("section = %q, want the component prefix stripped", docs[1].Section)
	}
}

func TestLongDescriptionStanza(t *testing.T) {
	got := map[string]string{}
	err := stanzas(strings.NewReader(translation), func(f map[string]string) {
		_, body, _ := strings.Cut(f["Description-en"], "\n")
		got[f["Package"]] = body
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "0 A.D. is a free, open-source game.\n\nSecond paragraph."; got["0ad"] != want {
		t.Errorf("body = %q, want %q", got["0ad"], want)
	}
}

func TestSplits(t *testing.T) {
	var docs []Doc
	for i, s := range []string{"a", "a", "a", "b", "b", "c", "d", "d", "d", "d"} {
		docs = append(docs, Doc{ID: string(rune('a'+i)) + "pkg", Section: s})
	}
	for name, split := range map[string][][]Doc{"hash": SplitHash(docs, 3), "section": SplitSection(docs, 3)} {
		n := 0
		for _, s := range split {
			n += len(s)
		}
		if n != len(docs) {
			t.Errorf("%s split lost documents: %d of %d", name, n, len(docs))
		}
	}
	sec := SplitSection(docs, 3)
	for i, s := range sec {
		sections := map[string]bool{}
		for _, d := range s {
			sections[d.Section] = true
		}
		for j, o := range sec {
			for _, d := range o {
				if j != i && sections[d.Section] {
					t.Errorf("section %q in shards %d and %d", d.Section, i, j)
				}
			}
		}
	}
	if len(sec[0]) != 4 { // d (4) alone; a (3) alone; b+c (3)
		t.Errorf("largest section not packed first: %d", len(sec[0]))
	}
}

func TestJSONLRoundTrip(t *testing.T) {
	docs, _ := Parse(strings.NewReader(fixture))
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, docs); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSONL(&buf)
	if err != nil || len(back) != len(docs) || back[0].ID != docs[0].ID {
		t.Fatalf("round trip: %v %+v", err, back)
	}
}

// TestBuild reads the machine's archive (needs apt lists).
func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the whole archive: skipped with -short")
	}
	if _, err := exec.LookPath("apt-cache"); err != nil {
		t.Skip("no apt-cache: not a Debian machine")
	}
	docs, err := Build(context.Background(), Options{N: 500, Long: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 500 {
		t.Fatalf("got %d docs, want 500", len(docs))
	}
	long := 0
	for _, d := range docs {
		if d.ID == "" || d.Title == "" {
			t.Fatalf("empty id or title: %+v", d)
		}
		if d.Body != "" {
			long++
		}
	}
	if long < 400 {
		t.Errorf("only %d of 500 docs have a long description", long)
	}
	again, _ := Build(context.Background(), Options{N: 500})
	if again[0].ID != docs[0].ID || again[499].ID != docs[499].ID {
		t.Errorf("sample not stable")
	}
}
