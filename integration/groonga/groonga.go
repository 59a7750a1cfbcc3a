// Package groonga is a small client for Groonga's native HTTP interface
// (groonga -s --protocol http): create a document table with a full-text
// index, load documents (POST /d/load) and query them (/d/select).
//
// Groonga's scores are integer match counts (no IDF, many ties): a genuinely
// different scorer from bleve's BM25 and PostgreSQL's ts_rank.
package groonga

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/searchfront/caddy-federate/integration/corpus"
)

// Client talks to one Groonga server.
type Client struct {
	// URL is the server's base, e.g. http://127.0.0.1:10041.
	URL  string
	HTTP *http.Client
}

// New returns a client with a bounded HTTP timeout.
func New(base string) *Client {
	return &Client{URL: base, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Command runs /d/<name> with params and returns the body of a successful
// answer (Groonga's [[status, start, elapsed], body]).
func (c *Client) Command(ctx context.Context, name string, params url.Values, post []byte) (json.RawMessage, error) {
	u := c.URL + "/d/" + name + "?" + params.Encode()
	method, body := http.MethodGet, io.Reader(nil)
	if post != nil {
		method, body = http.MethodPost, bytes.NewReader(post)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if post != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	var out []json.RawMessage
	if err := json.Unmarshal(raw, &out); err != nil || len(out) == 0 {
		return nil, fmt.Errorf("groonga %s: HTTP %d, unexpected answer %.200s", name, resp.StatusCode, raw)
	}
	var head []any
	if err := json.Unmarshal(out[0], &head); err != nil || len(head) == 0 {
		return nil, fmt.Errorf("groonga %s: bad header %s", name, out[0])
	}
	if code, _ := head[0].(float64); code != 0 {
		return nil, fmt.Errorf("groonga %s: %v", name, head)
	}
	if len(out) < 2 {
		return nil, nil
	}
	return out[1], nil
}

// CreateDocs creates table (keys: document ids) with title, body and section
// columns, and a bigram lexicon indexing title and body.
func (c *Client) CreateDocs(ctx context.Context, table string) error {
	terms := table + "Terms"
	steps := []url.Values{
		{"name": {table}, "flags": {"TABLE_HASH_KEY"}, "key_type": {"ShortText"}},
		{"table": {table}, "name": {"title"}, "flags": {"COLUMN_SCALAR"}, "type": {"Text"}},
		{"table": {table}, "name": {"body"}, "flags": {"COLUMN_SCALAR"}, "type": {"Text"}},
		{"table": {table}, "name": {"section"}, "flags": {"COLUMN_SCALAR"}, "type": {"ShortText"}},
		{"name": {terms}, "flags": {"TABLE_PAT_KEY"}, "key_type": {"ShortText"},
			"default_tokenizer": {"TokenBigram"}, "normalizer": {"NormalizerAuto"}},
		{"table": {terms}, "name": {"doc_index"}, "flags": {"COLUMN_INDEX|WITH_POSITION|WITH_SECTION"},
			"type": {table}, "source": {"title,body"}},
	}
	for i, p := range steps {
		cmd := "column_create"
		if i == 0 || i == 4 {
			cmd = "table_create"
		}
		if _, err := c.Command(ctx, cmd, p, nil); err != nil {
			return err
		}
	}
	return nil
}

// Load adds docs to table and returns how many Groonga loaded.
func (c *Client) Load(ctx context.Context, table string, docs []corpus.Doc) (int, error) {
	type row struct {
		Key     string `json:"_key"`
		Title   string `json:"title"`
		Body    string `json:"body"`
		Section string `json:"section"`
	}
	rows := make([]row, len(docs))
	for i, d := range docs {
		rows[i] = row{d.ID, d.Title, d.Body, d.Section}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return 0, err
	}
	out, err := c.Command(ctx, "load", url.Values{"table": {table}}, b)
	if err != nil {
		return 0, err
	}
	var n int
	if err := json.Unmarshal(out, &n); err != nil {
		return 0, fmt.Errorf("groonga load: %s", out)
	}
	return n, nil
}

// Hit is one ranked document.
type Hit struct {
	ID    string
	Score int
}

// Result is a select answer.
type Result struct {
	Total int
	Hits  []Hit
}

// Select runs a full-text query (Groonga query syntax: words are ANDed,
// "a OR b" ors them) over title (weight 2) and body, best score first, ties
// by key.
func (c *Client) Select(ctx context.Context, table, query string, offset, limit int) (*Result, error) {
	out, err := c.Command(ctx, "select", url.Values{
		"table":          {table},
		"match_columns":  {"title*2||body"},
		"query":          {query},
		"output_columns": {"_key,_score"},
		"sort_keys":      {"-_score,_key"},
		"offset":         {strconv.Itoa(offset)},
		"limit":          {strconv.Itoa(limit)},
	}, nil)
	if err != nil {
		return nil, err
	}
	// [[[total], [["_key","ShortText"],["_score","Int32"]], [key, score], ...]]
	var sets [][]json.RawMessage
	if err := json.Unmarshal(out, &sets); err != nil || len(sets) == 0 || len(sets[0]) < 2 {
		return nil, fmt.Errorf("groonga select: unexpected answer %.200s", out)
	}
	set := sets[0]
	var total []int
	if err := json.Unmarshal(set[0], &total); err != nil || len(total) != 1 {
		return nil, fmt.Errorf("groonga select: bad total %s", set[0])
	}
	res := &Result{Total: total[0]}
	for _, raw := range set[2:] {
		var row []any
		if err := json.Unmarshal(raw, &row); err != nil || len(row) != 2 {
			return nil, fmt.Errorf("groonga select: bad row %s", raw)
		}
		key, _ := row[0].(string)
		score, _ := row[1].(float64)
		res.Hits = append(res.Hits, Hit{ID: key, Score: int(score)})
	}
	return res, nil
}
