// Command pgshard is a PostgreSQL full-text search shard for the integration
// suite: the same HTTP face as esshard (Elasticsearch _search subset,
// Meilisearch search route, loading, faults) over a table with a generated
// tsvector column, setweight(title,'A') || setweight(body,'B'), and a GIN
// index. Queries are OR-ed terms ranked by ts_rank, ties by id: mostly 0-1
// scores, no IDF, many ties.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/searchfront/caddy-federate/integration/internal/shardapi"
)

func main() {
	var f shardapi.Flags
	f.Register(flag.CommandLine)
	dsn := flag.String("dsn", "host=127.0.0.1 user=postgres dbname=postgres", "PostgreSQL connection string")
	config := flag.String("config", "english", "text search configuration")
	reset := flag.Bool("reset", true, "drop and recreate the index's table at start")
	flag.Parse()
	log.SetPrefix("pgshard: ")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	s, err := open(ctx, *dsn, f.Index, *config, *reset)
	cancel()
	if err != nil {
		log.Fatal(err)
	}
	defer s.pool.Close()
	if err := shardapi.Serve(&f, "postgresql", s); err != nil {
		log.Fatal(err)
	}
}

type shard struct {
	pool   *pgxpool.Pool
	table  string
	config string
}

var ident = regexp.MustCompile(`[^a-z0-9_]`)

func open(ctx context.Context, dsn, index, config string, reset bool) (*shard, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, err
	}
	s := &shard{pool: pool, table: "docs_" + ident.ReplaceAllString(strings.ToLower(index), "_"), config: config}
	var ddl []string
	if reset {
		ddl = append(ddl, "DROP TABLE IF EXISTS "+s.table)
	}
	ddl = append(ddl,
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
			id text PRIMARY KEY,
			title text NOT NULL DEFAULT '',
			body text NOT NULL DEFAULT '',
			src jsonb NOT NULL,
			tsv tsvector GENERATED ALWAYS AS (
				setweight(to_tsvector(%s, title), 'A') || setweight(to_tsvector(%s, body), 'B')) STORED)`,
			s.table, quote(config), quote(config)),
		fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s_tsv ON %s USING gin (tsv)", s.table, s.table))
	for _, q := range ddl {
		if _, err := pool.Exec(ctx, q); err != nil {
			pool.Close()
			return nil, fmt.Errorf("%s: %v", q, err)
		}
	}
	return s, nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" + "::regconfig" }

func (s *shard) Index(ctx context.Context, docs []shardapi.Doc) error {
	b := &pgx.Batch{}
	for _, d := range docs {
		var f struct{ Title, Body string }
		if err := json.Unmarshal(d.Source, &f); err != nil {
			return fmt.Errorf("document %q: %v", d.ID, err)
		}
		b.Queue(`INSERT INTO `+s.table+` (id, title, body, src) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, body = EXCLUDED.body, src = EXCLUDED.src`,
			d.ID, f.Title, f.Body, string(d.Source))
	}
	return s.pool.SendBatch(ctx, b).Close()
}

func (s *shard) Count(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM "+s.table).Scan(&n)
	return n, err
}

// where builds the match condition: $1 is the query text. Field choice and
// boosts are ignored: the tsvector already weights title over body.
func (s *shard) where(q *shardapi.Query) (string, []any) {
	conds, args := []string{"true"}, []any{q.Text}
	if !q.MatchAll && strings.TrimSpace(q.Text) != "" {
		conds[0] = "tsv @@ q.q"
	}
	for _, f := range q.Filters {
		args = append(args, f.Field, f.Values)
		conds = append(conds, fmt.Sprintf("src->>$%d = ANY($%d)", len(args)-1, len(args)))
	}
	return strings.Join(conds, " AND "), args
}

func (s *shard) Search(ctx context.Context, q *shardapi.Query) (*shardapi.Result, error) {
	where, args := s.where(q)
	// OR of the query's terms: plainto_tsquery ANDs them.
	from := fmt.Sprintf(`%s, (SELECT replace(plainto_tsquery(%s, $1)::text, '&', '|')::tsquery AS q) q WHERE %s`,
		s.table, quote(s.config), where)
	score := "ts_rank(tsv, q.q)"
	if q.MatchAll || strings.TrimSpace(q.Text) == "" {
		score = "1.0::real"
	}
	out := &shardapi.Result{Facets: map[string]shardapi.FacetResult{}}
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM "+from, args...).Scan(&out.Total); err != nil {
		return nil, err
	}
	pargs := append(args, q.Size, q.From)
	rows, err := s.pool.Query(ctx, fmt.Sprintf("SELECT id, src::text, %s AS score FROM %s ORDER BY score DESC, id LIMIT $%d OFFSET $%d",
		score, from, len(pargs)-1, len(pargs)), pargs...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var h shardapi.Hit
		var src string
		var sc float32
		if err := rows.Scan(&h.ID, &src, &sc); err != nil {
			rows.Close()
			return nil, err
		}
		h.Source, h.Score = json.RawMessage(src), float64(sc)
		out.Hits = append(out.Hits, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, f := range q.Facets {
		fr, err := s.facet(ctx, from, args, f)
		if err != nil {
			return nil, err
		}
		out.Facets[f.Name] = fr
	}
	return out, nil
}

func (s *shard) facet(ctx context.Context, from string, args []any, f shardapi.Facet) (shardapi.FacetResult, error) {
	fargs := append(append([]any{}, args...), f.Field)
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT src->>$%d AS k, count(*) FROM %s AND src ? $%d GROUP BY k`,
		len(fargs), from, len(fargs)), fargs...)
	if err != nil {
		return shardapi.FacetResult{}, err
	}
	var all []shardapi.Bucket
	for rows.Next() {
		var b shardapi.Bucket
		if err := rows.Scan(&b.Key, &b.Count); err != nil {
			rows.Close()
			return shardapi.FacetResult{}, err
		}
		all = append(all, b)
	}
	rows.Close()
	shardapi.SortBuckets(all)
	var fr shardapi.FacetResult
	for i, b := range all {
		if i < f.Size {
			fr.Buckets = append(fr.Buckets, b)
		} else {
			fr.Other += b.Count
		}
	}
	return fr, rows.Err()
}

var _ shardapi.Backend = (*shard)(nil)
