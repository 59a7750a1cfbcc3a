// Command corpus writes the Debian-archive corpus as JSONL: one file for the
// whole slice (all.jsonl) and one per shard (shard-0.jsonl, ...).
//
//	corpus -n 3000 -shards 3 -split hash -out /tmp/corpus
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/searchfront/caddy-federate/integration/corpus"
)

func main() {
	n := flag.Int("n", 3000, "number of packages (0: all)")
	long := flag.Bool("long", true, "add long descriptions from the Translation-en lists")
	shards := flag.Int("shards", 3, "number of shards")
	split := flag.String("split", "hash", "split: hash (random) or section (topical)")
	out := flag.String("out", ".", "output directory")
	flag.Parse()

	docs, err := corpus.Build(context.Background(), corpus.Options{N: *n, Long: *long})
	if err != nil {
		log.Fatal(err)
	}
	var parts [][]corpus.Doc
	switch *split {
	case "hash":
		parts = corpus.SplitHash(docs, *shards)
	case "section":
		parts = corpus.SplitSection(docs, *shards)
	default:
		log.Fatalf("-split %q: want hash or section", *split)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	if err := corpus.WriteFile(filepath.Join(*out, "all.jsonl"), docs); err != nil {
		log.Fatal(err)
	}
	for i, p := range parts {
		if err := corpus.WriteFile(filepath.Join(*out, fmt.Sprintf("shard-%d.jsonl", i)), p); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("shard-%d.jsonl: %d documents\n", i, len(p))
	}
}
