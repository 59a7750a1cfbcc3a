package shardapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// SortField is one field of a sort.
type SortField struct {
	Field string
	Desc  bool
}

// Highlight asks for the query's words in Fields wrapped in Pre and Post.
type Highlight struct {
	Fields    []string // "*": every string field
	Pre, Post string
}

// parseESSortHighlight reads sort ("f", {"f":"desc"}, {"f":{"order":..}},
// "_score") and highlight ({fields, pre_tags, post_tags}).
func parseESSortHighlight(sortRaw, hlRaw json.RawMessage, q *Query) error {
	if s := bytes.TrimSpace(sortRaw); len(s) > 0 && string(s) != "null" {
		var items []json.RawMessage
		if s[0] == '[' {
			if err := json.Unmarshal(s, &items); err != nil {
				return fmt.Errorf("bad sort: %v", err)
			}
		} else {
			items = []json.RawMessage{s}
		}
		for _, it := range items {
			var name string
			if json.Unmarshal(it, &name) == nil {
				q.addSort(name, false)
				continue
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(it, &m); err != nil {
				return fmt.Errorf("bad sort item: %s", it)
			}
			for f, v := range m {
				var dir string
				if json.Unmarshal(v, &dir) != nil {
					var o struct {
						Order string `json:"order"`
					}
					_ = json.Unmarshal(v, &o)
					dir = o.Order
				}
				q.addSort(f, dir == "desc")
			}
		}
	}
	if h := bytes.TrimSpace(hlRaw); len(h) > 0 && string(h) != "null" {
		var o struct {
			Pre    []string                   `json:"pre_tags"`
			Post   []string                   `json:"post_tags"`
			Fields map[string]json.RawMessage `json:"fields"`
		}
		if err := json.Unmarshal(h, &o); err != nil {
			return fmt.Errorf("bad highlight: %v", err)
		}
		hl := &Highlight{Pre: "<em>", Post: "</em>"}
		if len(o.Pre) > 0 {
			hl.Pre = o.Pre[0]
		}
		if len(o.Post) > 0 {
			hl.Post = o.Post[0]
		}
		for f := range o.Fields {
			hl.Fields = append(hl.Fields, f)
		}
		q.Highlight = hl
	}
	return nil
}

// addSort appends a field sort; _score ends the field sort (it is the
// tie-break anyway).
func (q *Query) addSort(field string, desc bool) {
	if field == "_score" || field == "" {
		return
	}
	q.Sort = append(q.Sort, SortField{Field: field, Desc: desc})
}

// meiliSortHighlight reads sort ["f:asc"] and the highlight parameters.
func meiliSortHighlight(s *meiliSearch, q *Query) error {
	for _, r := range s.Sort {
		f, dir, ok := strings.Cut(r, ":")
		if !ok || (dir != "asc" && dir != "desc") {
			return fmt.Errorf("invalid sort %q: expected field:asc or field:desc", r)
		}
		q.addSort(f, dir == "desc")
	}
	fields := append(append([]string{}, s.AttributesToHighlight...), s.AttributesToCrop...)
	if len(fields) == 0 {
		return nil
	}
	hl := &Highlight{Fields: fields, Pre: "<em>", Post: "</em>"}
	if s.HighlightPreTag != nil {
		hl.Pre = *s.HighlightPreTag
	}
	if s.HighlightPostTag != nil {
		hl.Post = *s.HighlightPostTag
	}
	q.Highlight = hl
	return nil
}

// queryWords are the query's words, lowercased.
func queryWords(text string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), notWordRune) {
		out[w] = true
	}
	return out
}

func notWordRune(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// markWords wraps every word of s that is one of words (case-insensitive)
// in pre and post; ok is false when none is.
func markWords(s string, words map[string]bool, pre, post string) (string, bool) {
	var b strings.Builder
	found := false
	rs := []rune(s)
	for i := 0; i < len(rs); {
		if notWordRune(rs[i]) {
			b.WriteRune(rs[i])
			i++
			continue
		}
		j := i
		for j < len(rs) && !notWordRune(rs[j]) {
			j++
		}
		w := string(rs[i:j])
		if words[strings.ToLower(w)] {
			b.WriteString(pre + w + post)
			found = true
		} else {
			b.WriteString(w)
		}
		i = j
	}
	return b.String(), found
}

// HighlightSource is Elasticsearch's hit highlight: the asked string fields
// of src where a query word occurs, whole, with the words marked.
func HighlightSource(q *Query, src json.RawMessage) map[string][]string {
	if q.Highlight == nil || q.Text == "" {
		return nil
	}
	var doc map[string]any
	if json.Unmarshal(src, &doc) != nil {
		return nil
	}
	words := queryWords(q.Text)
	out := map[string][]string{}
	for f, v := range doc {
		s, ok := v.(string)
		if !ok || !q.Highlight.wants(f) {
			continue
		}
		if m, ok := markWords(s, words, q.Highlight.Pre, q.Highlight.Post); ok {
			out[f] = []string{m}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (h *Highlight) wants(f string) bool {
	for _, x := range h.Fields {
		if x == f || x == "*" {
			return true
		}
	}
	return false
}

// formatted is Meilisearch's _formatted: the document with the asked string
// fields' query words marked (other values as they are).
func formatted(q *Query, src json.RawMessage) map[string]any {
	var doc map[string]any
	if json.Unmarshal(src, &doc) != nil {
		return nil
	}
	words := queryWords(q.Text)
	for f, v := range doc {
		if s, ok := v.(string); ok && q.Highlight.wants(f) {
			doc[f], _ = markWords(s, words, q.Highlight.Pre, q.Highlight.Post)
		}
	}
	return doc
}

// SortValues is Elasticsearch's hit sort array: each sort field's value in
// the source (null when missing), then the score.
func SortValues(q *Query, h Hit) []any {
	if len(q.Sort) == 0 {
		return nil
	}
	var doc map[string]any
	_ = json.Unmarshal(h.Source, &doc)
	out := make([]any, 0, len(q.Sort)+1)
	for _, s := range q.Sort {
		v := doc[s.Field]
		if l, ok := v.([]any); ok && len(l) > 0 {
			v = l[0]
		}
		out = append(out, v)
	}
	return append(out, h.Score)
}
