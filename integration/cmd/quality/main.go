// Command quality measures how close merge.Merge's fused top 10 over three
// shards comes to one centralized index over the same documents, for every
// fusion strategy, on the Debian archive with debtags judgments (see
// integration/README.md).
//
// It builds the corpus at run time (integration/corpus), splits it into three
// shards (random by hash of id, and topical by Debian Section), indexes each
// shard into real engines started by the integration harness (bleve BM25 and
// TF-IDF through esshard, PostgreSQL through pgshard, Groonga over its HTTP
// interface), plus one centralized index per engine over the whole corpus,
// asks each index for its top -k hits per query, fuses the shards' lists with
// merge.Merge (raw, rrf k=60, score minmax, score zscore, rrf_z, interleave,
// calibrated, rrf_calibrated, auto) and reports overlap@10, RBO (p=0.9, extrapolated, depth 10), nDCG@10
// against the centralized top 10 (gain 10 − rank), nDCG@10 against the debtags
// judgments (binary), exact top-10 matches and the worst query.
//
//	cd integration && go run ./cmd/quality -docs 10000 -out /tmp/quality.md
//
// It is not part of `go test`: a default run takes several minutes.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/searchfront/caddy-federate/integration/corpus"
	"github.com/searchfront/caddy-federate/integration/harness"
	"github.com/searchfront/caddy-federate/merge"
)

// mix is a choice of engine per shard and the centralized references it is
// measured against.
type mix struct {
	Name    string
	Label   string
	Engines [3]string
	Refs    []string
}

var mixes = []mix{
	{"bm25", "bleve BM25 ×3", [3]string{BM25, BM25, BM25}, []string{BM25}},
	{"scorers", "bleve BM25 / TF-IDF / TF-IDF", [3]string{BM25, TFIDF, TFIDF}, []string{BM25, TFIDF}},
	{"engines", "bleve BM25 / PostgreSQL / Groonga", [3]string{BM25, PG, Groonga}, []string{BM25, PG, Groonga}},
}

// strategy is one merge configuration under test.
type strategy struct {
	Name string
	Opts merge.Options
	// Declared sets Opts.Topical on the topical (section) split, as an
	// operator who knows how the data is spread declares it with
	// `merge { split topical }`.
	Declared bool
}

var strategies = []strategy{
	{Name: "raw", Opts: merge.Options{Strategy: merge.Raw}},
	{Name: "rrf k=60", Opts: merge.Options{Strategy: merge.RRF, K: 60}},
	{Name: "score minmax", Opts: merge.Options{Strategy: merge.Score, Normalizer: merge.MinMax}},
	{Name: "score zscore", Opts: merge.Options{Strategy: merge.Score, Normalizer: merge.ZScore}},
	{Name: "rrf_z", Opts: merge.Options{Strategy: merge.RRFZ}},
	{Name: "interleave", Opts: merge.Options{Strategy: merge.Interleave}},
	{Name: "calibrated", Opts: merge.Options{Strategy: merge.Calibrated}},
	{Name: "rrf_calibrated", Opts: merge.Options{Strategy: merge.RRFCalibrated}},
	{Name: "auto", Opts: merge.Options{Strategy: merge.AutoChoice}},
	{Name: autoDeclared, Opts: merge.Options{Strategy: merge.AutoChoice}, Declared: true},
}

// autoDeclared is auto told the split: `split topical` on the section
// split, the default (hash) on the random one.
const autoDeclared = "auto, split declared"

type config struct {
	docs, tagQ, titleQ, minRel, k, workers int
	queries, split, mix, out               string
}

func main() {
	var c config
	flag.IntVar(&c.docs, "docs", 10000, "corpus size (packages picked by hash of name); 0 = the whole archive (~63k)")
	flag.StringVar(&c.queries, "queries", "", "file with one query per line (a line equal to a debtags tag description is judged by that tag); default: debtags tag descriptions + title-derived keyword queries")
	flag.IntVar(&c.tagQ, "tag-queries", 200, "number of debtags tag-description queries (default query set)")
	flag.IntVar(&c.titleQ, "title-queries", 100, "number of title-derived keyword queries (default query set)")
	flag.IntVar(&c.minRel, "min-rel", 3, "a tag query (or a -queries line equal to a tag description) is judged only if at least this many documents of the corpus carry the tag")
	flag.StringVar(&c.split, "split", "both", "random | section | both")
	flag.StringVar(&c.mix, "mix", "bm25,scorers,engines", "comma-separated shard mixes: bm25 (bleve BM25 ×3), scorers (BM25/TF-IDF/TF-IDF), engines (BM25/PostgreSQL/Groonga)")
	flag.IntVar(&c.k, "k", 50, "hits asked from each shard and each centralized index per query")
	flag.IntVar(&c.workers, "workers", 4, "queries in flight per index")
	flag.StringVar(&c.out, "out", "", "write the markdown report here too (default: stdout only)")
	flag.Parse()
	log.SetFlags(log.Ltime)

	root := newRunT("quality")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		log.Print("interrupted: stopping the engines")
		root.close()
		os.Exit(130)
	}()
	defer func() {
		if r := recover(); r != nil {
			root.close()
			panic(r)
		}
	}()
	var bin string
	err := guard(func() { bin = harness.Binary(root, "esshard") })
	if err == nil {
		defer os.RemoveAll(filepath.Dir(bin))
		err = run(root, c)
	}
	root.close()
	if err != nil {
		log.Fatal(err)
	}
}

func run(root *runT, c config) error {
	start := time.Now()
	var splits []string
	switch c.split {
	case "random", "section":
		splits = []string{c.split}
	case "both":
		splits = []string{"random", "section"}
	default:
		return fmt.Errorf("-split %q: want random, section or both", c.split)
	}
	var ms []mix
	for _, name := range strings.Split(c.mix, ",") {
		found := false
		for _, m := range mixes {
			if m.Name == strings.TrimSpace(name) {
				ms, found = append(ms, m), true
			}
		}
		if !found {
			return fmt.Errorf("-mix: unknown mix %q (bm25, scorers, engines)", name)
		}
	}

	// Corpus and judgments.
	ctx := context.Background()
	docs, err := corpus.Build(ctx, corpus.Options{N: c.docs, Long: true})
	if err != nil {
		return fmt.Errorf("corpus: %v (apt-get update -o Acquire::Languages=en may be needed)", err)
	}
	withBody := 0
	tagsOf := map[string]map[string]bool{}
	rel := map[string]int{}
	for _, d := range docs {
		if d.Body != "" {
			withBody++
		}
		tagsOf[d.ID] = set(d.Tags)
		for _, tag := range d.Tags {
			rel[tag]++
		}
	}
	vocab, err := vocabulary(vocabularyPath)
	if err != nil {
		return err
	}
	var qs []query
	if c.queries != "" {
		var unjudged int
		if qs, unjudged, err = fileQueries(c.queries, vocab, rel, c.minRel); err != nil {
			return err
		}
		if unjudged > 0 {
			log.Printf("%s: %d lines are debtags descriptions of tags fewer than -min-rel %d documents carry: not judged",
				c.queries, unjudged, c.minRel)
		}
	} else {
		qs = append(tagQueries(vocab, rel, c.tagQ, c.minRel), titleQueries(docs, c.titleQ)...)
	}
	if len(qs) == 0 {
		return fmt.Errorf("no queries")
	}
	judged := 0
	for _, q := range qs {
		if q.Tag != "" {
			judged++
		}
	}
	log.Printf("corpus: %d docs (%d with a long description), %d queries (%d judged by debtags), built in %v",
		len(docs), withBody, len(qs), judged, time.Since(start).Round(time.Second))

	w := &world{t: root}
	// Centralized references: every engine some mix is measured against.
	central := map[string][]answer{}
	for _, m := range ms {
		for _, e := range m.Refs {
			if central[e] != nil {
				continue
			}
			a, err := indexAndQuery(w, e, "central_"+e, docs, qs, c)
			if err != nil {
				return err
			}
			central[e] = a
		}
	}

	rep := &report{cfg: c, docs: len(docs), withBody: withBody, queries: qs, judged: judged, started: start}
	rep.agreement = agreement(central, qs, tagsOf, rel)
	for _, sp := range splits {
		var shards [][]corpus.Doc
		if sp == "random" {
			shards = corpus.SplitHash(docs, 3)
		} else {
			shards = corpus.SplitSection(docs, 3)
		}
		sizes := make([]int, len(shards))
		for i, s := range shards {
			sizes[i] = len(s)
		}
		rep.splitSizes = append(rep.splitSizes, fmt.Sprintf("%s %v", sp, sizes))
		answers := map[[2]string][]answer{} // (engine, shard index) → answers
		for _, m := range ms {
			for i, e := range m.Engines {
				key := [2]string{e, fmt.Sprint(i)}
				if answers[key] != nil {
					continue
				}
				a, err := indexAndQuery(w, e, fmt.Sprintf("%s_%s_%d", sp, e, i), shards[i], qs, c)
				if err != nil {
					return err
				}
				answers[key] = a
			}
		}
		for _, m := range ms {
			var per [3][]answer
			for i, e := range m.Engines {
				per[i] = answers[[2]string{e, fmt.Sprint(i)}]
			}
			rep.settings = append(rep.settings, evaluate(sp, m, per, central, qs, tagsOf, rel))
		}
	}
	rep.elapsed = time.Since(start)
	md := rep.markdown()
	fmt.Print(md)
	if c.out != "" {
		return os.WriteFile(c.out, []byte(md), 0o644)
	}
	return nil
}

// indexAndQuery indexes docs into a new index of engine e, asks it every
// query, and stops its shard server (PostgreSQL and Groonga keep running).
func indexAndQuery(w *world, e, name string, docs []corpus.Doc, qs []query, c config) ([]answer, error) {
	t := newRunT(name)
	defer t.close()
	t0 := time.Now()
	ix, err := w.start(t, e, name, docs)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	t1 := time.Now()
	a, err := runAll(ix, qs, c.k, c.workers)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	log.Printf("%-22s %6d docs: indexed in %v, %d queries in %v", name, len(docs),
		t1.Sub(t0).Round(100*time.Millisecond), len(qs), time.Since(t1).Round(100*time.Millisecond))
	return a, nil
}

func ids(hits []merge.Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

// row is one strategy's averages in one setting against one reference.
type row struct {
	Strategy                 string
	Overlap, RBO, NDCG, Judg float64
	Exact, N, NJudged        int
	WorstQ                   string
	Worst                    float64
	// PerQ is overlap@10 per query (NaN where the reference found nothing),
	// for paired standard errors of differences.
	PerQ []float64
}

// setting is one split × mix, measured against each of its references.
type setting struct {
	Split, Mix, Label string
	Refs              []string
	Rows              map[string][]row // ref → rows, in strategies order
	// AutoChoices counts the strategies auto applied over the queries;
	// AutoDistMin and AutoDistMax bound the KS distances it saw, AutoGapMin
	// and AutoGapMax the scale gaps.
	AutoChoices              map[merge.Strategy]int
	AutoDistMin, AutoDistMax float64
	AutoGapMin, AutoGapMax   float64
	Judged                   []row // debtags nDCG@10 per strategy (reference-free)
	CentralJudged            map[string]float64
}

func evaluate(split string, m mix, per [3][]answer, central map[string][]answer, qs []query,
	tagsOf map[string]map[string]bool, rel map[string]int) setting {
	s := setting{Split: split, Mix: m.Name, Label: m.Label, Refs: m.Refs, Rows: map[string][]row{}, CentralJudged: map[string]float64{}}
	lists := make([][]merge.List, len(qs))
	auto := merge.NewAuto(false)
	for qi := range qs {
		for i := range per {
			lists[qi] = append(lists[qi], merge.List{Shard: fmt.Sprintf("%d:%s", i, m.Engines[i]),
				Hits: per[i][qi].Hits, Total: per[i][qi].Total})
		}
		// Warm-up: the ring keeps the last answers, so query qi below
		// finds the history of the queries before it (cyclically), never
		// its own answer, as a running federation would.
		auto.Observe(lists[qi])
	}

	s.AutoChoices = map[merge.Strategy]int{}
	s.AutoDistMin, s.AutoDistMax = math.Inf(1), math.Inf(-1)
	s.AutoGapMin, s.AutoGapMax = math.Inf(1), math.Inf(-1)
	fused := make([][][]string, len(strategies)) // strategy → query → top 10 ids
	for si := range strategies {
		fused[si] = make([][]string, len(qs))
	}
	for qi := range qs {
		auto.Refresh() // per query here; every 5 s in the handler
		d := auto.Distance()
		s.AutoDistMin, s.AutoDistMax = math.Min(s.AutoDistMin, d), math.Max(s.AutoDistMax, d)
		g := auto.ScaleGap()
		s.AutoGapMin, s.AutoGapMax = math.Min(s.AutoGapMin, g), math.Max(s.AutoGapMax, g)
		for si, st := range strategies {
			opts := st.Opts
			opts.Dedupe, opts.Limit = true, 10
			opts.Topical = st.Declared && split == "section"
			if opts.Strategy == merge.AutoChoice || opts.Strategy == merge.Calibrated || opts.Strategy == merge.RRFCalibrated {
				opts.Auto = auto
			}
			res := merge.Merge(lists[qi], 0, opts)
			if opts.Strategy == merge.AutoChoice {
				s.AutoChoices[res.Strategy]++
			}
			top := make([]string, len(res.Hits))
			for i, h := range res.Hits {
				top[i] = h.ID
			}
			fused[si][qi] = top
		}
		auto.Observe(lists[qi])
	}
	judge := func(ranked [][]string) (float64, int) { return debtagsNDCG(ranked, qs, tagsOf, rel) }
	for _, ref := range m.Refs {
		refIDs := make([][]string, len(qs))
		for qi := range qs {
			refIDs[qi] = ids(central[ref][qi].Hits)
		}
		s.CentralJudged[ref], _ = judge(refIDs)
		for si, st := range strategies {
			r := row{Strategy: st.Name, Worst: 2}
			for qi, q := range qs {
				o := overlapAt(fused[si][qi], refIDs[qi], 10)
				r.PerQ = append(r.PerQ, o)
				if o != o { // NaN: the reference found nothing
					continue
				}
				r.N++
				r.Overlap += o
				r.RBO += rbo(fused[si][qi], refIDs[qi], 0.9, 10)
				r.NDCG += ndcgRef(fused[si][qi], refIDs[qi], 10)
				if exactTop(fused[si][qi], refIDs[qi], 10) {
					r.Exact++
				}
				if o < r.Worst {
					r.Worst, r.WorstQ = o, q.Text
				}
			}
			if r.N > 0 {
				r.Overlap /= float64(r.N)
				r.RBO /= float64(r.N)
				r.NDCG /= float64(r.N)
			}
			r.Judg, r.NJudged = judge(fused[si])
			s.Rows[ref] = append(s.Rows[ref], r)
		}
	}
	return s
}

// pair is the agreement of two centralized engines (the practical ceiling
// for a mixed fleet).
type pair struct {
	A, B    string
	Overlap float64
	RBO     float64
}

func agreement(central map[string][]answer, qs []query, tagsOf map[string]map[string]bool, rel map[string]int) []pair {
	var es []string
	for e := range central {
		es = append(es, e)
	}
	order := map[string]int{BM25: 0, TFIDF: 1, PG: 2, Groonga: 3}
	sort.Slice(es, func(i, j int) bool { return order[es[i]] < order[es[j]] })
	var out []pair
	for i := range es {
		for j := i + 1; j < len(es); j++ {
			p := pair{A: es[i], B: es[j]}
			n := 0
			for qi := range qs {
				a, b := ids(central[es[i]][qi].Hits), ids(central[es[j]][qi].Hits)
				o := overlapAt(b, a, 10)
				if o != o {
					continue
				}
				n++
				p.Overlap += o
				p.RBO += rbo(b, a, 0.9, 10)
			}
			if n > 0 {
				p.Overlap /= float64(n)
				p.RBO /= float64(n)
			}
			out = append(out, p)
		}
	}
	return out
}
