package shardapi

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// meiliSearch is the Meilisearch search body subset understood here.
type meiliSearch struct {
	Q                    string          `json:"q"`
	Offset               *int            `json:"offset"`
	Limit                *int            `json:"limit"`
	Page                 *int            `json:"page"`
	HitsPerPage          *int            `json:"hitsPerPage"`
	Filter               json.RawMessage `json:"filter"`
	Facets               []string        `json:"facets"`
	AttributesToRetrieve []string        `json:"attributesToRetrieve"`
	AttributesToSearchOn []string        `json:"attributesToSearchOn"`
	ShowRankingScore     bool            `json:"showRankingScore"`
	Sort                 []string        `json:"sort"`
	// attributesToCrop are highlighted whole: there is no cropping here.
	AttributesToHighlight []string `json:"attributesToHighlight"`
	AttributesToCrop      []string `json:"attributesToCrop"`
	HighlightPreTag       *string  `json:"highlightPreTag"`
	HighlightPostTag      *string  `json:"highlightPostTag"`
}

// meiliParams is what a Meilisearch answer echoes besides the hits.
type meiliParams struct {
	Query            string
	Offset, Limit    int
	Paged            bool
	Page, PerPage    int
	ShowRankingScore bool
	Facets           []string
}

// ParseMeili decodes a Meilisearch POST /indexes/{uid}/search body.
func ParseMeili(body []byte) (*Query, *meiliParams, error) {
	var s meiliSearch
	if len(body) > 0 {
		if err := json.Unmarshal(body, &s); err != nil {
			return nil, nil, fmt.Errorf("the json payload provided is malformed: %v", err)
		}
	}
	p := &meiliParams{Query: s.Q, Limit: 20, ShowRankingScore: s.ShowRankingScore, Facets: s.Facets}
	if s.Offset != nil {
		p.Offset = *s.Offset
	}
	if s.Limit != nil {
		p.Limit = *s.Limit
	}
	if s.Page != nil || s.HitsPerPage != nil {
		p.Paged, p.Page, p.PerPage = true, 1, 20
		if s.Page != nil {
			p.Page = *s.Page
		}
		if s.HitsPerPage != nil {
			p.PerPage = *s.HitsPerPage
		}
		p.Offset, p.Limit = (max(p.Page, 1)-1)*p.PerPage, p.PerPage
	}
	if p.Offset < 0 || p.Limit < 0 {
		return nil, nil, fmt.Errorf("offset and limit must be non-negative")
	}
	q := &Query{Text: s.Q, MatchAll: strings.TrimSpace(s.Q) == "", From: p.Offset, Size: p.Limit,
		Fields: parseFields(s.AttributesToSearchOn)}
	if s.AttributesToRetrieve != nil && !(len(s.AttributesToRetrieve) == 1 && s.AttributesToRetrieve[0] == "*") {
		q.Source = s.AttributesToRetrieve
	}
	for _, f := range s.Facets {
		q.Facets = append(q.Facets, Facet{Name: f, Field: f, Size: 100})
	}
	filters, err := parseMeiliFilter(s.Filter)
	if err != nil {
		return nil, nil, err
	}
	q.Filters = filters
	if err := meiliSortHighlight(&s, q); err != nil {
		return nil, nil, err
	}
	return q, p, nil
}

// parseMeiliFilter reads the subset `f = v`, `f IN [a, b]` joined by AND, as a
// string or as an array (inner arrays are ORs over one field).
func parseMeiliFilter(raw json.RawMessage) ([]Filter, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		var out []Filter
		for _, part := range regexp.MustCompile(`(?i)\s+AND\s+`).Split(strings.TrimSpace(s), -1) {
			f, err := parseMeiliExpr(part)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
		return out, nil
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(raw, &arr); err != nil {
		return nil, fmt.Errorf("invalid filter: %s", raw)
	}
	var out []Filter
	for _, el := range arr {
		var one string
		if json.Unmarshal(el, &one) == nil {
			f, err := parseMeiliExpr(one)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
			continue
		}
		var ors []string
		if err := json.Unmarshal(el, &ors); err != nil {
			return nil, fmt.Errorf("invalid filter: %s", el)
		}
		var or Filter
		for _, e := range ors {
			f, err := parseMeiliExpr(e)
			if err != nil {
				return nil, err
			}
			if or.Field != "" && or.Field != f.Field {
				return nil, fmt.Errorf("OR across fields is not supported: %s", el)
			}
			or.Field = f.Field
			or.Values = append(or.Values, f.Values...)
		}
		out = append(out, or)
	}
	return out, nil
}

var (
	meiliEq = regexp.MustCompile(`^\s*([\w.]+)\s*=\s*(.+?)\s*$`)
	meiliIn = regexp.MustCompile(`(?i)^\s*([\w.]+)\s+IN\s+\[(.*)\]\s*$`)
)

func parseMeiliExpr(e string) (Filter, error) {
	if m := meiliIn.FindStringSubmatch(e); m != nil {
		var vals []string
		for _, v := range strings.Split(m[2], ",") {
			vals = append(vals, unquote(v))
		}
		return Filter{Field: m[1], Values: vals}, nil
	}
	if m := meiliEq.FindStringSubmatch(e); m != nil {
		return Filter{Field: m[1], Values: []string{unquote(m[2])}}, nil
	}
	return Filter{}, fmt.Errorf("unsupported filter expression: %q", e)
}

func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}
