package dialect

import (
	"bytes"
	"net/url"
	"strconv"
	"time"

	"github.com/searchfront/caddy-federate/merge"
)

func (groonga) EncodeResponse(q *Query, res *Response) ([]byte, error) {
	r := &res.Result
	cols := grnColumns(q, r.Hits)
	b := make([]byte, 0, 1024+512*len(r.Hits))
	b = appendGrnHeader(b, 0, res.Took, "")
	b = append(b, ",[[["...)
	b = strconv.AppendInt(b, r.Total, 10)
	b = append(b, "],["...)
	for i, c := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = appendString(b, c.name)
		b = append(b, ',')
		b = appendString(b, c.typ)
		b = append(b, ']')
	}
	b = append(b, ']')
	for i := range r.Hits {
		b = append(b, ',')
		b = appendGrnRow(b, &r.Hits[i], cols)
	}
	b = append(b, ']')
	b = appendGrnDrilldowns(b, q, r.Facets)
	b = append(b, ']')
	if !res.Complete {
		b = append(b, `,{"federate":`...)
		b = appendShardStatus(b, res.Shards)
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

// appendGrnHeader writes [return_code, start_time, elapsed(, message)].
func appendGrnHeader(b []byte, rc int, took time.Duration, msg string) []byte {
	now := time.Now()
	b = append(b, "[["...)
	b = strconv.AppendInt(b, int64(rc), 10)
	b = append(b, ',')
	b = strconv.AppendFloat(b, float64(now.Add(-took).UnixMicro())/1e6, 'f', 6, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, took.Seconds(), 'g', -1, 64)
	if rc != 0 {
		b = append(b, ',')
		b = appendString(b, msg)
	}
	return append(b, ']')
}

type grnColumn struct{ name, typ string }

// grnColumns picks the output columns: the client's output_columns, with *
// (or no output_columns) expanded to every document field seen in the page.
// _id is dropped: merged hits have no Groonga record id.
func grnColumns(q *Query, hits []merge.Fused) []grnColumn {
	asked := splitList(url.Values(q.Params).Get("output_columns"))
	if len(asked) == 0 {
		asked = []string{"_key", "_score", "*"}
	}
	var cols []grnColumn
	seen := map[string]bool{}
	add := func(name string) {
		if !seen[name] && name != "_id" {
			seen[name] = true
			cols = append(cols, grnColumn{name: name, typ: grnType(name, hits)})
		}
	}
	for _, a := range asked {
		if a != "*" {
			add(a)
			continue
		}
		for i := range hits {
			_ = eachMember(hits[i].Doc, func(k string, _ []byte, _, _ int) bool {
				if !seen[k] && k != "_score" && k != "_key" {
					add(k)
				}
				return true
			})
		}
	}
	return cols
}

// grnType guesses a column's Groonga type from its first non-null value.
func grnType(name string, hits []merge.Fused) string {
	switch name {
	case "_key":
		return "ShortText"
	case "_score":
		return "Float"
	}
	for i := range hits {
		v, ok := member(hits[i].Doc, name)
		if v = bytes.TrimSpace(v); !ok || len(v) == 0 || v[0] == 'n' {
			continue
		}
		switch {
		case v[0] == '"':
			return "Text"
		case v[0] == 't' || v[0] == 'f':
			return "Bool"
		case v[0] == '[' || v[0] == '{':
			return "Object"
		case bytes.ContainsAny(v, ".eE"):
			return "Float"
		default:
			return "Int64"
		}
	}
	return "Text"
}

// appendGrnRow writes one hit as a row; _key falls back to the hit's id and
// _score is the fused score.
func appendGrnRow(b []byte, h *merge.Fused, cols []grnColumn) []byte {
	b = append(b, '[')
	for i, c := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		if c.name == "_score" {
			b = appendFloat(b, h.Score)
			continue
		}
		v, ok := member(h.Doc, c.name)
		switch {
		case ok:
			b = append(b, bytes.TrimSpace(v)...)
		case c.name == "_key":
			b = appendString(b, h.ID)
		default:
			b = append(b, "null"...)
		}
	}
	return append(b, ']')
}

// appendGrnDrilldowns writes unlabeled drilldowns in drilldown order, or
// one object of labeled drilldowns, as the client asked.
func appendGrnDrilldowns(b []byte, q *Query, fs []merge.Facet) []byte {
	byName := make(map[string]*merge.Facet, len(fs))
	for i := range fs {
		byName[fs[i].Name] = &fs[i]
	}
	one := func(b []byte, field string) []byte {
		f := byName[field]
		if f == nil {
			f = &merge.Facet{}
		}
		b = append(b, "[["...)
		b = strconv.AppendInt(b, int64(len(f.Values)), 10)
		b = append(b, `],[["_key","ShortText"],["_nsubrecs","Int32"]]`...)
		for _, v := range f.Values {
			b = append(b, ",["...)
			b = appendString(b, v.Value)
			b = append(b, ',')
			b = strconv.AppendInt(b, v.Count, 10)
			b = append(b, ']')
		}
		return append(b, ']')
	}
	for _, field := range splitList(url.Values(q.Params).Get("drilldown")) {
		b = append(b, ',')
		b = one(b, field)
	}
	if labels := grnLabels(q.Params); len(labels) > 0 {
		b = append(b, ",{"...)
		for i, l := range labels {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, l)
			b = append(b, ':')
			b = one(b, url.Values(q.Params).Get("drilldowns["+l+"].keys"))
		}
		b = append(b, '}')
	}
	return b
}

func (groonga) EncodeError(e *Error) []byte {
	rc := -1 // GRN_UNKNOWN_ERROR
	if e.Status >= 400 && e.Status < 500 {
		rc = -22 // GRN_INVALID_ARGUMENT
	}
	return append(appendGrnHeader(make([]byte, 0, 128+len(e.Message)), rc, 0, e.Message), ']')
}
