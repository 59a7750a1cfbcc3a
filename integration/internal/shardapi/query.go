package shardapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Query is a decoded search request, whatever dialect it came in.
type Query struct {
	// Text is the full-text query; empty with MatchAll.
	Text string
	// Fields limits the text match to these fields (nil: every text field).
	// Boosts come from "field^2" in multi_match.
	Fields []Field
	// Syntax is true for query_string: Text uses the engine's query syntax.
	Syntax   bool
	MatchAll bool
	// Filters: every field must equal one of its values.
	Filters []Filter
	From    int
	Size    int
	// Source: nil returns the whole document, an empty non-nil slice none.
	Source []string
	// Facets are term aggregations: name → field and bucket count.
	Facets []Facet
	// TypedKeys names aggregations "sterms#<name>" (Elasticsearch's
	// typed_keys=true, which typed clients use to pick a decoder).
	TypedKeys bool
	// Sort orders hits by fields (then score, then id); nil: by score.
	Sort []SortField
	// Highlight asks for highlighted fields; nil: none.
	Highlight *Highlight
}

// Field is one matched field with its boost (1 when not given).
type Field struct {
	Name  string
	Boost float64
}

// Filter requires Field to equal one of Values.
type Filter struct {
	Field  string
	Values []string
}

// Facet is a terms aggregation.
type Facet struct {
	Name  string
	Field string
	Size  int
}

// Hit is one ranked document.
type Hit struct {
	ID     string
	Score  float64
	Source json.RawMessage
}

// Result is what a Backend answers.
type Result struct {
	Total  int
	Hits   []Hit
	Facets map[string]FacetResult // by Facet.Name
}

// FacetResult is one terms aggregation's answer.
type FacetResult struct {
	Buckets []Bucket
	// Other counts matching documents whose value is in no bucket.
	Other int
}

// Bucket is one facet value and its document count.
type Bucket struct {
	Key   string
	Count int
}

// esSearch is the Elasticsearch request body subset understood here.
type esSearch struct {
	From   *int            `json:"from"`
	Size   *int            `json:"size"`
	Query  json.RawMessage `json:"query"`
	Source json.RawMessage `json:"_source"`
	Aggs   map[string]struct {
		Terms *struct {
			Field string `json:"field"`
			Size  int    `json:"size"`
		} `json:"terms"`
	} `json:"aggs"`
	Aggregations json.RawMessage `json:"aggregations"`
	Sort         json.RawMessage `json:"sort"`
	Highlight    json.RawMessage `json:"highlight"`
}

// ParseES decodes an Elasticsearch _search body (from, size, query, _source,
// aggs). Unknown keys are ignored, as track_total_hits and friends change
// nothing here.
func ParseES(body []byte) (*Query, error) {
	q := &Query{Size: 10}
	if len(bytes.TrimSpace(body)) == 0 {
		q.MatchAll = true
		return q, nil
	}
	var s esSearch
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("failed to parse search body: %v", err)
	}
	if s.Aggs == nil && len(s.Aggregations) > 0 {
		if err := json.Unmarshal(s.Aggregations, &s.Aggs); err != nil {
			return nil, fmt.Errorf("bad aggregations: %v", err)
		}
	}
	if s.From != nil {
		q.From = *s.From
	}
	if s.Size != nil {
		q.Size = *s.Size
	}
	if q.From < 0 || q.Size < 0 {
		return nil, fmt.Errorf("[from] and [size] must be non-negative")
	}
	if err := parseSource(s.Source, q); err != nil {
		return nil, err
	}
	if err := parseESSortHighlight(s.Sort, s.Highlight, q); err != nil {
		return nil, err
	}
	for name, a := range s.Aggs {
		if a.Terms == nil {
			return nil, fmt.Errorf("aggregation [%s]: only terms is supported", name)
		}
		size := a.Terms.Size
		if size == 0 {
			size = 10
		}
		q.Facets = append(q.Facets, Facet{Name: name, Field: a.Terms.Field, Size: size})
	}
	if len(s.Query) == 0 {
		q.MatchAll = true
		return q, nil
	}
	return q, parseClause(s.Query, q, true)
}

func parseSource(raw json.RawMessage, q *Query) error {
	if len(raw) == 0 || string(raw) == "true" || string(raw) == "null" {
		return nil
	}
	if string(raw) == "false" {
		q.Source = []string{}
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		q.Source = []string{one}
		return nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		q.Source = list
		return nil
	}
	var obj struct {
		Includes []string `json:"includes"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fmt.Errorf("bad _source: %v", err)
	}
	q.Source = obj.Includes
	return nil
}

// parseClause reads one query clause into q. top is false inside bool, where
// only one full-text clause is allowed overall.
func parseClause(raw json.RawMessage, q *Query, top bool) error {
	var c map[string]json.RawMessage
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("bad query: %v", err)
	}
	if len(c) != 1 {
		return fmt.Errorf("query must have exactly one clause, has %d", len(c))
	}
	for kind, v := range c {
		switch kind {
		case "match_all":
			q.MatchAll = true
		case "match":
			return parseMatch(v, q)
		case "multi_match":
			var m struct {
				Query  string   `json:"query"`
				Fields []string `json:"fields"`
			}
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("bad multi_match: %v", err)
			}
			q.Text, q.Fields = m.Query, parseFields(m.Fields)
		case "query_string", "simple_query_string":
			var m struct {
				Query        string   `json:"query"`
				Fields       []string `json:"fields"`
				DefaultField string   `json:"default_field"`
			}
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("bad %s: %v", kind, err)
			}
			q.Text, q.Syntax, q.Fields = m.Query, true, parseFields(m.Fields)
			if m.DefaultField != "" && m.DefaultField != "*" {
				q.Fields = parseFields([]string{m.DefaultField})
			}
		case "term", "terms":
			f, err := parseTerm(kind, v)
			if err != nil {
				return err
			}
			q.Filters = append(q.Filters, f)
			if top {
				q.MatchAll = true
			}
		case "bool":
			return parseBool(v, q)
		default:
			return fmt.Errorf("unknown query [%s]", kind)
		}
	}
	return nil
}

func parseMatch(v json.RawMessage, q *Query) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil || len(m) != 1 {
		return fmt.Errorf("match needs exactly one field")
	}
	for field, arg := range m {
		var text string
		if json.Unmarshal(arg, &text) != nil {
			var o struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(arg, &o); err != nil {
				return fmt.Errorf("bad match on [%s]: %v", field, err)
			}
			text = o.Query
		}
		q.Text, q.Fields = text, parseFields([]string{field})
	}
	return nil
}

func parseBool(v json.RawMessage, q *Query) error {
	var b map[string]json.RawMessage
	if err := json.Unmarshal(v, &b); err != nil {
		return fmt.Errorf("bad bool: %v", err)
	}
	text := 0
	for occur, raw := range b {
		var clauses []json.RawMessage
		if len(raw) > 0 && raw[0] == '[' {
			if err := json.Unmarshal(raw, &clauses); err != nil {
				return fmt.Errorf("bad bool.%s: %v", occur, err)
			}
		} else {
			clauses = []json.RawMessage{raw}
		}
		switch occur {
		case "filter":
			for _, c := range clauses {
				sub := &Query{}
				if err := parseClause(c, sub, false); err != nil {
					return err
				}
				if sub.Text != "" {
					return fmt.Errorf("bool.filter takes term/terms only")
				}
				q.Filters = append(q.Filters, sub.Filters...)
			}
		case "must", "should":
			for _, c := range clauses {
				sub := &Query{}
				if err := parseClause(c, sub, false); err != nil {
					return err
				}
				// One text searched several ways (fuzzy, prefix, phrase:
				// what search UIs send) counts once.
				if sub.Text != "" && sub.Text != q.Text {
					text++
					q.Text, q.Fields, q.Syntax = sub.Text, sub.Fields, sub.Syntax
				}
				q.Filters = append(q.Filters, sub.Filters...)
			}
		case "minimum_should_match", "boost":
		default:
			return fmt.Errorf("bool.%s is not supported", occur)
		}
	}
	if text > 1 {
		return fmt.Errorf("at most one full-text clause in bool")
	}
	if q.Text == "" {
		q.MatchAll = true
	}
	return nil
}

func parseTerm(kind string, v json.RawMessage) (Filter, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil || len(m) != 1 {
		return Filter{}, fmt.Errorf("%s needs exactly one field", kind)
	}
	for field, arg := range m {
		if kind == "terms" {
			var vals []any
			if err := json.Unmarshal(arg, &vals); err != nil {
				return Filter{}, fmt.Errorf("terms on [%s] needs an array", field)
			}
			return Filter{Field: field, Values: stringsOf(vals)}, nil
		}
		var val any
		if err := json.Unmarshal(arg, &val); err != nil {
			return Filter{}, err
		}
		if o, ok := val.(map[string]any); ok {
			val = o["value"]
		}
		return Filter{Field: field, Values: stringsOf([]any{val})}, nil
	}
	panic("unreachable")
}

func stringsOf(vals []any) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		if s, ok := v.(string); ok {
			out[i] = s
		} else {
			out[i] = fmt.Sprint(v)
		}
	}
	return out
}

func parseFields(names []string) []Field {
	if len(names) == 0 {
		return nil
	}
	out := make([]Field, 0, len(names))
	for _, n := range names {
		f := Field{Name: n, Boost: 1}
		if name, boost, ok := strings.Cut(n, "^"); ok {
			f.Name = name
			fmt.Sscan(boost, &f.Boost)
		}
		if f.Name == "*" {
			return nil
		}
		out = append(out, f)
	}
	return out
}
