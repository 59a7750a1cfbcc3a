package dialect

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/searchfront/caddy-federate/merge"
)

// grnQueryText turns free text into Groonga query syntax: every word a
// quoted phrase, joined with OR, so no word is read as an operator. The
// words OR and AND (a client's own operators) are dropped.
func grnQueryText(text string) string {
	words := strings.Fields(text)
	out := words[:0]
	for _, w := range words {
		if w != "OR" && w != "AND" {
			out = append(out, quoteEscaped(w))
		}
	}
	return strings.Join(out, " OR ")
}

// formatGrnFilter writes f in script syntax.
func formatGrnFilter(f *Filter, t Target) (string, error) {
	parts := make([]string, 0, len(f.And))
	for _, c := range f.And {
		if !isFieldName(c.Field) || strings.Contains(c.Field, "-") || len(c.Values) == 0 {
			return "", unsupportedConstruct(t, grnName, "filter field "+strconv.Quote(c.Field))
		}
		alts := make([]string, len(c.Values))
		for i, v := range c.Values {
			alts[i] = c.Field + " == " + quoteEscaped(v)
		}
		if len(alts) == 1 {
			parts = append(parts, alts[0])
		} else {
			parts = append(parts, "("+strings.Join(alts, " || ")+")")
		}
	}
	return strings.Join(parts, " && "), nil
}

func (g groonga) BuildRequest(q *Query, t Target) (*Request, error) {
	index := targetIndex(q, t)
	table, extra, err := splitIndex(index)
	if err != nil || table == "" {
		return nil, grnError("Shard " + t.Shard + " needs a Groonga table: set `index` on the shard, e.g. \"Docs?match_columns=title*2||body\".")
	}
	var p url.Values
	if q.Dialect == grnName {
		p = cloneParams(q.Params)
		grnLabelDrilldowns(p)
	} else {
		p = url.Values{}
		if q.RawFilter {
			return nil, unsupportedFilter(q, t, grnName)
		}
		if text := grnQueryText(q.Text); text != "" {
			p.Set("query", text)
		}
		if q.Filter != nil && len(q.Filter.And) > 0 {
			f, err := formatGrnFilter(q.Filter, t)
			if err != nil {
				return nil, err
			}
			p.Set("filter", f)
		}
		p.Set("output_columns", "_key,_score,*")
		if q.Fields != nil {
			p.Set("output_columns", "_key,_score,"+strings.Join(q.Fields, ","))
		}
		p.Set("sort_keys", "-_score")
		for _, f := range q.Facets {
			p.Set("drilldowns["+f+"].keys", f)
			p.Set("drilldowns["+f+"].output_columns", "_key,_nsubrecs")
			p.Set("drilldowns["+f+"].sort_keys", "-_nsubrecs")
			p.Set("drilldowns["+f+"].limit", "100")
		}
	}
	if err := enforceParams(p, extra, "filter", andScript(`"'`)); err != nil {
		return nil, err
	}
	if p.Get("query") != "" && p.Get("match_columns") == "" {
		return nil, grnError("Shard " + t.Shard + " (groonga) needs match_columns to search text: give it in the shard's index, e.g. \"" + table + "?match_columns=title*2||body\".")
	}
	p.Set("table", table)
	p.Set("offset", strconv.Itoa(t.Offset))
	p.Set("limit", strconv.Itoa(windowLimit(t, g.DefaultLimit())))
	return &Request{Method: http.MethodGet, Path: "/d/select", RawQuery: p.Encode()}, nil
}

// grnLabelDrilldowns rewrites drilldown=a,b into labeled drilldowns so that
// the answer names each facet.
func grnLabelDrilldowns(p url.Values) {
	fields := splitList(p.Get("drilldown"))
	if len(fields) == 0 {
		return
	}
	for _, f := range fields {
		p.Set("drilldowns["+f+"].keys", f)
		p.Set("drilldowns["+f+"].output_columns", "_key,_nsubrecs")
		for _, o := range []string{"sort_keys", "limit", "offset"} {
			if v := p.Get("drilldown_" + o); v != "" {
				p.Set("drilldowns["+f+"]."+o, v)
			}
		}
	}
	for _, k := range []string{"drilldown", "drilldown_sort_keys", "drilldown_sortby", "drilldown_limit", "drilldown_offset", "drilldown_output_columns"} {
		p.Del(k)
	}
}

// grnResultSet is [[n], [[name, type]...], row...].
type grnResultSet struct {
	N       int64
	Columns []string
	Rows    []json.RawMessage
}

func decodeGrnResultSet(raw json.RawMessage) (grnResultSet, error) {
	var rs grnResultSet
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil || len(parts) < 2 {
		return rs, errInvalidMsg(grnName, "a result set is not [[n], columns, rows...]")
	}
	var n []int64
	if err := json.Unmarshal(parts[0], &n); err != nil || len(n) != 1 || n[0] < 0 {
		return rs, errInvalidMsg(grnName, "a result set has no [n_hits]")
	}
	var cols [][]string
	if err := json.Unmarshal(parts[1], &cols); err != nil {
		return rs, errInvalidMsg(grnName, "a result set's columns are not [[name, type]...]")
	}
	rs.N, rs.Rows = n[0], parts[2:]
	for _, c := range cols {
		if len(c) == 0 {
			return rs, errInvalidMsg(grnName, "a column has no name")
		}
		rs.Columns = append(rs.Columns, c[0])
	}
	return rs, nil
}

// grnBody decodes an answer's header and body; a non-zero return code is
// an error with Groonga's message.
func grnBody(body []byte) ([]json.RawMessage, error) {
	var top []json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || len(top) == 0 {
		return nil, errInvalidMsg(grnName, "the answer is not [header, body]")
	}
	var hdr []json.RawMessage
	if err := json.Unmarshal(top[0], &hdr); err != nil || len(hdr) < 3 {
		return nil, errInvalidMsg(grnName, "the header is not [return_code, start_time, elapsed_time]")
	}
	var rc int
	if err := json.Unmarshal(hdr[0], &rc); err != nil {
		return nil, errInvalidMsg(grnName, "the return code is not an integer")
	}
	if rc != 0 {
		msg := ""
		if len(hdr) > 3 {
			msg = scalarString(hdr[3])
		}
		return nil, errInvalidMsg(grnName, "return code "+strconv.Itoa(rc)+": "+msg)
	}
	if len(top) < 2 {
		return nil, errInvalidMsg(grnName, "no body")
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(top[1], &parts); err != nil || len(parts) == 0 {
		return nil, errInvalidMsg(grnName, "the body is not [result set, drilldowns...]")
	}
	return parts, nil
}

func (groonga) DecodeResponse(body []byte, idField string) (merge.List, error) {
	parts, err := grnBody(body)
	if err != nil {
		return merge.List{}, err
	}
	rs, err := decodeGrnResultSet(parts[0])
	if err != nil {
		return merge.List{}, err
	}
	if idField == "" {
		idField = "_key"
	}
	idCol, scoreCol := -1, -1
	for i, c := range rs.Columns {
		switch c {
		case idField:
			idCol = i
		case "_score":
			scoreCol = i
		}
	}
	l := merge.List{Total: rs.N, Hits: make([]merge.Hit, 0, len(rs.Rows))}
	for _, row := range rs.Rows {
		h, err := grnHit(row, rs.Columns, idCol, scoreCol)
		if err != nil {
			return merge.List{}, err
		}
		l.Hits = append(l.Hits, h)
	}
	for _, d := range parts[1:] {
		if !isObject(d) {
			continue // an unlabeled drilldown names no field
		}
		var labeled map[string]json.RawMessage
		if err := json.Unmarshal(d, &labeled); err != nil {
			return merge.List{}, errInvalid(grnName, err)
		}
		for label, raw := range labeled {
			if err := addGrnFacet(&l, label, raw); err != nil {
				return merge.List{}, err
			}
		}
	}
	return l, nil
}

// grnHit builds a hit from a row: Doc is {column: value} for the document's
// columns. Groonga's own columns are not document fields: _key, the record
// key, becomes "id" (as every other dialect's documents have one, unless the
// table has an id column), and _score and other _-columns are left out.
func grnHit(row []byte, cols []string, idCol, scoreCol int) (merge.Hit, error) {
	h := merge.Hit{Native: row}
	doc := make([]byte, 0, len(row)+16*len(cols))
	doc = append(doc, '{')
	i, n := 0, 0
	err := eachElement(row, func(v []byte) bool {
		if i >= len(cols) {
			i++
			return false
		}
		if name, ok := grnDocField(cols, i); ok {
			if n > 0 {
				doc = append(doc, ',')
			}
			doc = appendString(doc, name)
			doc = append(doc, ':')
			doc = append(doc, v...)
			n++
		}
		switch i {
		case idCol:
			h.ID = scalarString(v)
		case scoreCol:
			h.Score, h.Scored = rawFloat(v)
		}
		i++
		return true
	})
	if err != nil || i != len(cols) {
		return h, errInvalidMsg(grnName, "a row does not match the columns")
	}
	h.Doc = append(doc, '}')
	return h, nil
}

// grnDocField names column i in the document, or reports it is not a
// document field.
func grnDocField(cols []string, i int) (string, bool) {
	c := cols[i]
	switch {
	case c == "_key" && !slices.Contains(cols, "id"):
		return "id", true
	case strings.HasPrefix(c, "_"):
		return "", false
	}
	return c, true
}

// addGrnFacet reads one labeled drilldown [[n], [[_key,..],[_nsubrecs,..]], [v, c]...].
func addGrnFacet(l *merge.List, name string, raw json.RawMessage) error {
	rs, err := decodeGrnResultSet(raw)
	if err != nil {
		return err
	}
	keyCol, nCol := -1, -1
	for i, c := range rs.Columns {
		switch c {
		case "_key":
			keyCol = i
		case "_nsubrecs":
			nCol = i
		}
	}
	if keyCol < 0 || nCol < 0 {
		return errInvalidMsg(grnName, "drilldown "+name+" lacks _key or _nsubrecs")
	}
	m := facetCounts(l, name, len(rs.Rows))
	for _, row := range rs.Rows {
		var cells []json.RawMessage
		if err := json.Unmarshal(row, &cells); err != nil || len(cells) != len(rs.Columns) {
			return errInvalidMsg(grnName, "a drilldown row does not match its columns")
		}
		var n int64
		if err := json.Unmarshal(cells[nCol], &n); err != nil {
			return errInvalidMsg(grnName, "a drilldown count is not an integer")
		}
		m[scalarString(cells[keyCol])] += n
	}
	if rs.N > int64(len(rs.Rows)) {
		l.FacetsTruncated = true
	}
	return nil
}
