package dialect

import (
	"slices"
	"sort"

	"github.com/searchfront/caddy-federate/merge"
)

// Each client dialect's shape for a hit's id, sort values and highlights
// (see identity.go and highlight.go), for hits whose shard spoke another
// dialect: a same-dialect hit already carries them as its engine wrote them.

// meiliDoc is a Meilisearch answer's hit document: the id spliced in if
// missing, and _formatted built from the shard's highlights when the client
// asked for highlighting and the shard (of another dialect) wrote none. As
// in Meilisearch, every hit then has _formatted, with or without matches.
func meiliDoc(q *Query, h *merge.Fused) []byte {
	doc := withID(h.Doc, q.idField(), h)
	if q.Highlight == nil {
		return doc
	}
	if _, ok := member(doc, "_formatted"); ok {
		return doc
	}
	f := make([]byte, 0, len(doc)+64)
	f = append(f, '{')
	n := 0
	_ = eachMember(doc, func(k string, v []byte, _, _ int) bool {
		if n++; n > 1 {
			f = append(f, ',')
		}
		f = appendString(f, k)
		f = append(f, ':')
		if frags, ok := h.Highlight[k]; ok && q.Highlight.wants(k) {
			f = appendString(f, joinFragments(frags))
		} else {
			f = append(f, v...)
		}
		return true
	})
	f = append(f, '}')
	return appendObjectWith(make([]byte, 0, len(doc)+len(f)+16), doc, field{"_formatted", f})
}

// highlightFields lists the hit's highlighted fields the client asked for,
// sorted.
func highlightFields(q *Query, h *merge.Fused) []string {
	if q.Highlight == nil {
		return nil
	}
	out := make([]string, 0, len(h.Highlight))
	for k := range h.Highlight {
		if q.Highlight.wants(k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// esHitExtras are the members an Elasticsearch hit of another engine gets:
// highlight {field: [fragments]} and, when the client sorted, its sort
// values.
func esHitExtras(q *Query, h *merge.Fused) []field {
	var fs []field
	if names := highlightFields(q, h); len(names) > 0 {
		b := []byte{'{'}
		for i, k := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendStrings(b, h.Highlight[k])
		}
		fs = append(fs, field{"highlight", append(b, '}')})
	}
	if len(q.Sort) > 0 {
		fs = append(fs, field{"sort", appendSortValues(nil, h.Keys, len(q.Sort))})
	}
	return fs
}

// appendSortValues writes a hit's sort values as Elasticsearch's sort array.
func appendSortValues(b []byte, keys []merge.Value, n int) []byte {
	b = append(b, '[')
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		var v merge.Value
		if i < len(keys) {
			v = keys[i]
		}
		switch v.Kind {
		case merge.Number:
			b = appendFloat(b, v.Num)
		case merge.String:
			b = appendString(b, v.Str)
		default:
			b = append(b, "null"...)
		}
	}
	return append(b, ']')
}

// appendSolrHighlighting writes Solr's highlighting section, keyed by id.
func appendSolrHighlighting(b []byte, q *Query, r *merge.Result) []byte {
	if q.Highlight == nil {
		return b
	}
	b = append(b, `,"highlighting":{`...)
	for i := range r.Hits {
		h := &r.Hits[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, hitID(h))
		b = append(b, ":{"...)
		for j, k := range highlightFields(q, h) {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendStrings(b, h.Highlight[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendTSHighlights writes a Typesense hit's "highlight" and "highlights"
// members (without a leading comma): {field: {snippet, matched_tokens}} and
// [{field, snippet, matched_tokens}], with value for whole-field highlights.
func appendTSHighlights(b []byte, q *Query, h *merge.Fused) []byte {
	names := highlightFields(q, h)
	entry := func(b []byte, k string, withField bool) []byte {
		b = append(b, '{')
		if withField {
			b = append(b, `"field":`...)
			b = appendString(b, k)
			b = append(b, ',')
		}
		frags := h.Highlight[k]
		b = append(b, `"matched_tokens":[],"snippet":`...)
		b = appendString(b, joinFragments(frags))
		if len(frags) > 1 {
			b = append(b, `,"snippets":`...)
			b = appendStrings(b, frags)
		}
		if slices.Contains(q.Highlight.Fields, k) {
			b = append(b, `,"value":`...)
			b = appendString(b, joinFragments(frags))
		}
		return append(b, '}')
	}
	b = append(b, `"highlight":{`...)
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = entry(b, k, false)
	}
	b = append(b, `},"highlights":[`...)
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = entry(b, k, true)
	}
	return append(b, ']')
}
