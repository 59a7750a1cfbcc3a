package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/searchfront/caddy-federate/integration/corpus"
	"github.com/searchfront/caddy-federate/integration/groonga"
	"github.com/searchfront/caddy-federate/integration/harness"
	"github.com/searchfront/caddy-federate/merge"
)

// Engines (scorers) a shard can run.
const (
	BM25    = "bm25"    // bleve BM25 (esshard)
	TFIDF   = "tfidf"   // bleve TF-IDF (esshard)
	PG      = "pg"      // PostgreSQL ts_rank (pgshard)
	Groonga = "groonga" // Groonga match counts (native HTTP)
)

var engineNames = map[string]string{
	BM25: "bleve BM25", TFIDF: "bleve TF-IDF", PG: "PostgreSQL", Groonga: "Groonga",
}

// answer is one engine's top hits for one query.
type answer struct {
	Hits  []merge.Hit
	Total int64
}

// index is one running index (a shard or a centralized one).
type index interface {
	search(ctx context.Context, q string, k int) (answer, error)
}

// world holds the long-lived servers: one PostgreSQL cluster and one Groonga
// server hold every PostgreSQL and Groonga index; bleve indexes each run
// their own esshard process.
type world struct {
	t  *runT
	pg *harness.Postgres
	gr *harness.Groonga
	mu sync.Mutex
}

// start indexes docs into a new index of engine e, named name, and returns
// it; t owns the process (esshard, pgshard) so closing t stops it.
func (w *world) start(t *runT, e, name string, docs []corpus.Doc) (index, error) {
	var ix index
	err := guard(func() {
		switch e {
		case BM25, TFIDF:
			s := harness.StartESShard(t, harness.ShardOptions{Name: "esshard-" + name, Index: "docs", Docs: docs, Scoring: e, NoGzip: true})
			ix = &esIndex{url: s.URL + "/docs/_search"}
		case PG:
			w.mu.Lock()
			if w.pg == nil {
				w.pg = harness.StartPostgres(w.t)
			}
			pg := w.pg
			w.mu.Unlock()
			s := harness.StartPGShard(t, pg, harness.ShardOptions{Name: "pgshard-" + name, Index: name, Docs: docs, NoGzip: true})
			ix = &esIndex{url: s.URL + "/" + name + "/_search"}
		case Groonga:
			w.mu.Lock()
			if w.gr == nil {
				w.gr = harness.StartGroonga(w.t)
			}
			gr := w.gr
			w.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			table := "T_" + name
			if err := gr.Client.CreateDocs(ctx, table); err != nil {
				t.Fatalf("groonga %s: %v", table, err)
			}
			for i := 0; i < len(docs); i += 1000 {
				n, err := gr.Client.Load(ctx, table, docs[i:min(i+1000, len(docs))])
				if err != nil || n != min(i+1000, len(docs))-i {
					t.Fatalf("groonga load %s: %d docs, %v", table, n, err)
				}
			}
			ix = &groongaIndex{c: gr.Client, table: table}
		default:
			t.Fatalf("unknown engine %q", e)
		}
	})
	return ix, err
}

// esIndex is a shard server speaking the Elasticsearch _search subset
// (esshard for bleve, pgshard for PostgreSQL).
type esIndex struct{ url string }

var httpClient = &http.Client{Timeout: 60 * time.Second}

func (x *esIndex) search(ctx context.Context, q string, k int) (answer, error) {
	body := map[string]any{
		"query":   map[string]any{"multi_match": map[string]any{"query": q, "fields": []string{"title^2", "body"}}},
		"size":    k,
		"_source": false,
	}
	code, b, err := harness.DoErr(http.MethodPost, x.url, body, nil)
	if err != nil {
		return answer{}, err
	}
	if code != 200 {
		return answer{}, fmt.Errorf("%s: HTTP %d: %.300s", x.url, code, b)
	}
	var r struct {
		Hits struct {
			Total struct {
				Value int64 `json:"value"`
			} `json:"total"`
			Hits []struct {
				ID    string  `json:"_id"`
				Score float64 `json:"_score"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return answer{}, fmt.Errorf("%s: %v", x.url, err)
	}
	a := answer{Total: r.Hits.Total.Value}
	for _, h := range r.Hits.Hits {
		a.Hits = append(a.Hits, merge.Hit{ID: h.ID, Score: h.Score, Scored: true})
	}
	return a, nil
}

// groongaIndex is one Groonga table.
type groongaIndex struct {
	c     *groonga.Client
	table string
}

func (x *groongaIndex) search(ctx context.Context, q string, k int) (answer, error) {
	words := words(q)
	if len(words) == 0 {
		return answer{}, nil
	}
	// Words OR-ed, as the other engines do; only letters and digits reach
	// Groonga's query syntax.
	r, err := x.c.Select(ctx, x.table, strings.Join(words, " OR "), 0, k)
	if err != nil {
		return answer{}, err
	}
	a := answer{Total: int64(r.Total)}
	for _, h := range r.Hits {
		a.Hits = append(a.Hits, merge.Hit{ID: h.ID, Score: float64(h.Score), Scored: true})
	}
	return a, nil
}

// words are the lower-cased runs of letters and digits of s.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// runAll asks ix every query (top k), with a few requests in flight.
func runAll(ix index, queries []query, k, workers int) ([]answer, error) {
	out := make([]answer, len(queries))
	errs := make([]error, len(queries))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				out[i], errs[i] = ix.search(ctx, queries[i].Text, k)
				cancel()
			}
		}()
	}
	for i := range queries {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("query %q: %w", queries[i].Text, err)
		}
	}
	return out, nil
}
