// Command esshard is a bleve-backed search shard for the integration suite.
// It speaks the Elasticsearch _search subset (POST|GET /{index}/_search) and
// the Meilisearch search route (POST /indexes/{uid}/search), loads documents
// from -load (JSONL), takes the Elasticsearch and Meilisearch write
// subsets of shardapi (bulk, documents, deletes, settings, tasks), and
// misbehaves on request through POST /_fault.
//
// Scores are BM25 or TF-IDF (-scoring). The index lives on disk (scorch) in a
// temporary directory: bleve's in-memory index ignores the scoring model.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2"
	_ "github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	_ "github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/searchfront/caddy-federate/integration/internal/shardapi"
)

func main() {
	var f shardapi.Flags
	f.Register(flag.CommandLine)
	scoring := flag.String("scoring", "bm25", "scoring model: bm25 or tfidf")
	analyzer := flag.String("analyzer", "en", "analyzer of the text fields (en, standard)")
	text := flag.String("text", "title,body", "comma-separated text fields searched when a query names none")
	keyword := flag.String("keyword", "id,section,tags", "comma-separated exact-match (filter and facet) fields")
	dir := flag.String("dir", "", "index directory (default: a temporary one, removed at exit)")
	flag.Parse()
	log.SetPrefix("esshard: ")

	model := map[string]string{"bm25": index.BM25Scoring, "tfidf": index.TFIDFScoring, "tf-idf": index.TFIDFScoring}[*scoring]
	if model == "" {
		log.Fatalf("-scoring %q: want bm25 or tfidf", *scoring)
	}
	b, cleanup, err := open(*dir, model, *analyzer, split(*text), split(*keyword))
	if err != nil {
		log.Fatal(err)
	}
	err = shardapi.Serve(&f, "bleve-"+*scoring, b)
	cleanup()
	if err != nil {
		log.Fatal(err)
	}
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// shard is the bleve Backend. Sources are kept beside the index, as bleve's
// stored fields would lose the JSON's shape.
type shard struct {
	idx  bleve.Index
	text []string
	mu   sync.RWMutex
	src  map[string]json.RawMessage
}

func open(dir, model, analyzer string, text, keyword []string) (*shard, func(), error) {
	cleanup := func() {}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "esshard-")
		if err != nil {
			return nil, nil, err
		}
		dir, cleanup = tmp+"/index", func() { os.RemoveAll(tmp) }
	}
	im := bleve.NewIndexMapping()
	im.ScoringModel = model
	im.DefaultAnalyzer = analyzer
	doc := bleve.NewDocumentMapping()
	for _, name := range text {
		fm := bleve.NewTextFieldMapping()
		fm.Analyzer = analyzer
		fm.Store = false
		doc.AddFieldMappingsAt(name, fm)
	}
	for _, name := range keyword {
		fm := bleve.NewKeywordFieldMapping()
		fm.Store = false
		doc.AddFieldMappingsAt(name, fm)
	}
	im.DefaultMapping = doc
	idx, err := bleve.New(dir, im)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("bleve index in %s: %v", dir, err)
	}
	return &shard{idx: idx, text: text, src: map[string]json.RawMessage{}},
		func() { idx.Close(); cleanup() }, nil
}

func (s *shard) Index(ctx context.Context, docs []shardapi.Doc) error {
	batch := s.idx.NewBatch()
	for _, d := range docs {
		var v map[string]any
		if err := json.Unmarshal(d.Source, &v); err != nil {
			return fmt.Errorf("document %q: %v", d.ID, err)
		}
		if err := batch.Index(d.ID, v); err != nil {
			return err
		}
	}
	if err := s.idx.Batch(batch); err != nil {
		return err
	}
	s.mu.Lock()
	for _, d := range docs {
		s.src[d.ID] = d.Source
	}
	s.mu.Unlock()
	return nil
}

// Delete removes documents; ids it does not hold are ignored.
func (s *shard) Delete(ctx context.Context, ids []string) error {
	batch := s.idx.NewBatch()
	for _, id := range ids {
		batch.Delete(id)
	}
	if err := s.idx.Batch(batch); err != nil {
		return err
	}
	s.mu.Lock()
	for _, id := range ids {
		delete(s.src, id)
	}
	s.mu.Unlock()
	return nil
}

// Source returns a stored document.
func (s *shard) Source(id string) (json.RawMessage, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	src, ok := s.src[id]
	return src, ok
}

func (s *shard) Count(ctx context.Context) (int, error) {
	n, err := s.idx.DocCount()
	return int(n), err
}

func (s *shard) Search(ctx context.Context, q *shardapi.Query) (*shardapi.Result, error) {
	req := bleve.NewSearchRequestOptions(s.query(q), q.Size, q.From, false)
	order := search.SortOrder{}
	for _, f := range q.Sort {
		order = append(order, &search.SortField{Field: f.Field, Desc: f.Desc, Missing: search.SortFieldMissingLast})
	}
	req.SortByCustom(append(order, &search.SortScore{Desc: true}, &search.SortDocID{}))
	for _, f := range q.Facets {
		req.AddFacet(f.Name, bleve.NewFacetRequest(f.Field, f.Size))
	}
	res, err := s.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, err
	}
	out := &shardapi.Result{Total: int(res.Total), Facets: map[string]shardapi.FacetResult{}}
	s.mu.RLock()
	for _, h := range res.Hits {
		out.Hits = append(out.Hits, shardapi.Hit{ID: h.ID, Score: h.Score, Source: s.src[h.ID]})
	}
	s.mu.RUnlock()
	for name, fr := range res.Facets {
		r := shardapi.FacetResult{Other: fr.Other}
		if fr.Terms != nil {
			for _, t := range fr.Terms.Terms() {
				r.Buckets = append(r.Buckets, shardapi.Bucket{Key: t.Term, Count: t.Count})
			}
		}
		shardapi.SortBuckets(r.Buckets)
		out.Facets[name] = r
	}
	return out, nil
}

// query builds the bleve query. Filters go in the boolean query's filter
// clause: they select without changing any score, as in Elasticsearch.
func (s *shard) query(q *shardapi.Query) query.Query {
	var main query.Query
	switch {
	case q.MatchAll || strings.TrimSpace(q.Text) == "":
		main = bleve.NewMatchAllQuery()
	case q.Syntax && q.Fields == nil:
		main = bleve.NewQueryStringQuery(q.Text)
	default:
		fields := q.Fields
		if fields == nil {
			for _, name := range s.text {
				fields = append(fields, shardapi.Field{Name: name, Boost: 1})
			}
		}
		var dis []query.Query
		for _, f := range fields {
			m := bleve.NewMatchQuery(q.Text)
			m.SetField(f.Name)
			m.SetBoost(f.Boost)
			dis = append(dis, m)
		}
		main = bleve.NewDisjunctionQuery(dis...)
	}
	if len(q.Filters) == 0 {
		return main
	}
	var conj []query.Query
	for _, f := range q.Filters {
		var dis []query.Query
		for _, v := range f.Values {
			t := bleve.NewTermQuery(v)
			t.SetField(f.Field)
			dis = append(dis, t)
		}
		conj = append(conj, bleve.NewDisjunctionQuery(dis...))
	}
	b := bleve.NewBooleanQuery()
	b.AddMust(main)
	b.AddFilter(bleve.NewConjunctionQuery(conj...))
	return b
}

var (
	_ shardapi.Backend = (*shard)(nil)
	_ shardapi.Deleter = (*shard)(nil)
	_ shardapi.Sourcer = (*shard)(nil)
)
