package dialect

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/searchfront/caddy-federate/merge"
)

// groonga speaks Groonga's HTTP select command with its default output
// (https://groonga.org/docs/reference/commands/select.html,
// .../reference/command/output_format.html, verified against Groonga 13):
// [[return_code, start_time, elapsed_time(, message, location)],
// [[[n_hits], [[column, type]...], row...], drilldowns...]].
//
// Shards are asked GET /d/select with table, match_columns, query (the words
// quoted and joined with OR), filter (script syntax), output_columns
// _key,_score,*, sort_keys=-_score and one labeled drilldown per facet,
// whose results come back as an object keyed by label (the facet's field).
// The shard's index string names the table and carries defaults for any
// select parameter: "Docs?match_columns=title*2||body". match_columns is
// required whenever there is query text.
//
// A hit's Doc is built from the row: {column: value} for every output
// column. Groonga has no partial-result field: when a shard failed the
// merged answer carries a third top-level element {"federate": {"complete":
// false, "shards": {...}}} after the header and the body.
type groonga struct{}

func init() { register(groonga{}) }

const grnName = "groonga"

func (groonga) Name() string      { return grnName }
func (groonga) DefaultLimit() int { return 10 }

func grnError(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Type: "invalid_request", Message: msg}
}

func (groonga) DecodeRequest(r *http.Request, body []byte) (*Query, error) {
	q := &Query{Dialect: grnName, Method: r.Method, Params: url.Values{}}
	if r.URL != nil {
		q.Params = r.URL.Query()
		segs := pathSegments(r.URL.Path)
		if n := len(segs); n == 0 || (segs[n-1] != "select" && segs[n-1] != "select.json") {
			return nil, grnError("federate answers only the select command (/d/select).")
		}
	}
	if r.Method == http.MethodPost && len(bytes.TrimSpace(body)) > 0 {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, grnError("The form body could not be parsed: " + err.Error())
		}
		for k, v := range form {
			q.Params[k] = append(q.Params[k], v...)
		}
	}
	p := url.Values(q.Params)
	if q.Index = p.Get("table"); q.Index == "" {
		return nil, grnError("[select] table is missing.")
	}
	if v := p.Get("command_version"); v != "" && v != "1" && v != "2" {
		return nil, grnError("federate speaks select command_version 1 and 2 only.")
	}
	q.Text = strings.TrimSpace(p.Get("query"))
	var ok bool
	if s := p.Get("offset"); s != "" {
		if q.Offset, ok = parseCount(s); !ok {
			return nil, grnError("[select] offset must be a non-negative integer: <" + s + ">")
		}
	}
	if s := p.Get("limit"); s != "" {
		if q.Limit, ok = parseCount(s); !ok {
			return nil, grnError("[select] limit must be a non-negative integer (federate does not take -1): <" + s + ">")
		}
		q.HasLimit = true
	}
	if f := strings.TrimSpace(p.Get("filter")); f != "" {
		if clauses, ok := parseGrnFilter(f); ok {
			q.Filter = &Filter{And: clauses}
		} else {
			q.RawFilter = true
		}
	}
	q.Fields = grnFields(splitList(p.Get("output_columns")))
	facets, err := grnDrilldowns(p)
	if err != nil {
		return nil, err
	}
	q.Facets = facets
	return q, nil
}

// grnFields maps output_columns to document fields: nil (all) for a
// wildcard, else the columns minus the pseudo columns.
func grnFields(cols []string) []string {
	var out []string
	for _, c := range cols {
		switch {
		case strings.Contains(c, "*"):
			return nil
		case strings.HasPrefix(c, "_"):
		default:
			out = append(out, c)
		}
	}
	return out
}

// grnDrilldowns returns the facet fields of drilldown=a,b and of labeled
// drilldowns[label].keys=field.
func grnDrilldowns(p url.Values) ([]string, error) {
	facets := splitList(p.Get("drilldown"))
	for _, l := range grnLabels(p) {
		keys := splitList(p.Get("drilldowns[" + l + "].keys"))
		if len(keys) != 1 {
			return nil, grnError("federate takes labeled drilldowns over exactly one key: drilldowns[" + l + "].keys.")
		}
		facets = append(facets, keys[0])
	}
	return facets, nil
}

// grnLabels lists the labels of drilldowns[label].keys parameters, sorted.
func grnLabels(p url.Values) []string {
	var out []string
	for k := range p {
		if strings.HasPrefix(k, "drilldowns[") && strings.HasSuffix(k, "].keys") {
			out = append(out, k[len("drilldowns["):len(k)-len("].keys")])
		}
	}
	sort.Strings(out)
	return out
}

// parseGrnFilter parses `f == "v" && (g == "a" || g == 1)`.
func parseGrnFilter(s string) ([]Clause, bool) {
	var out []Clause
	for _, part := range splitGrnOutside(s, "&&") {
		part = strings.TrimSpace(part)
		if strings.HasPrefix(part, "(") && strings.HasSuffix(part, ")") {
			part = part[1 : len(part)-1]
		}
		var c Clause
		for _, alt := range splitGrnOutside(part, "||") {
			field, v, ok := parseGrnEquals(strings.TrimSpace(alt))
			if !ok || (c.Field != "" && field != c.Field) {
				return nil, false
			}
			c.Field = field
			c.Values = append(c.Values, v)
		}
		out = append(out, c)
	}
	return out, len(out) > 0
}

// splitGrnOutside splits s on sep outside double-quoted strings.
func splitGrnOutside(s, sep string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case quoted && s[i] == '\\':
			i++
		case s[i] == '"':
			quoted = !quoted
		case !quoted && strings.HasPrefix(s[i:], sep):
			out = append(out, s[start:i])
			start = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(out, s[start:])
}

// parseGrnEquals reads `field == "value"` or `field == 12`.
func parseGrnEquals(s string) (string, string, bool) {
	field, val, found := strings.Cut(s, "==")
	field, val = strings.TrimSpace(field), strings.TrimSpace(val)
	if !found || !isFieldName(field) || val == "" {
		return "", "", false
	}
	if val[0] != '"' {
		if tsScalar(val) {
			return field, val, true
		}
		return "", "", false
	}
	var b strings.Builder
	for i := 1; i < len(val); i++ {
		switch val[i] {
		case '\\':
			if i+1 >= len(val) {
				return "", "", false
			}
			i++
			b.WriteByte(val[i])
		case '"':
			if i != len(val)-1 {
				return "", "", false
			}
			return field, b.String(), true
		default:
			b.WriteByte(val[i])
		}
	}
	return "", "", false
}

// grnQuote writes s as a Groonga string literal (query phrase or script
// string): double quotes with " and \ escaped.
func grnQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// grnQueryText turns free text into Groonga query syntax: every word a
// quoted phrase, joined with OR, so no word is read as an operator. The
// words OR and AND (a client's own operators) are dropped.
func grnQueryText(text string) string {
	words := strings.Fields(text)
	out := words[:0]
	for _, w := range words {
		if w != "OR" && w != "AND" {
			out = append(out, grnQuote(w))
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
			alts[i] = c.Field + " == " + grnQuote(v)
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
	index := t.Index
	if index == "" {
		index = q.Index
	}
	table, extra, err := splitIndex(index)
	if err != nil || table == "" {
		return nil, grnError("Shard " + t.Shard + " needs a Groonga table: set `index` on the shard, e.g. \"Docs?match_columns=title*2||body\".")
	}
	p := url.Values{}
	if q.Dialect == grnName {
		for k, v := range q.Params {
			p[k] = append([]string(nil), v...)
		}
		grnLabelDrilldowns(p)
	} else {
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
	fillParams(p, extra)
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

// grnHit builds a hit from a row: Doc is {column: value}.
func grnHit(row []byte, cols []string, idCol, scoreCol int) (merge.Hit, error) {
	h := merge.Hit{Native: row}
	doc := make([]byte, 0, len(row)+16*len(cols))
	doc = append(doc, '{')
	i := 0
	err := eachElement(row, func(v []byte) bool {
		if i >= len(cols) {
			i++
			return false
		}
		if i > 0 {
			doc = append(doc, ',')
		}
		doc = appendString(doc, cols[i])
		doc = append(doc, ':')
		doc = append(doc, v...)
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
	if l.Facets == nil {
		l.Facets = map[string]map[string]int64{}
	}
	m := l.Facets[name]
	if m == nil {
		m = make(map[string]int64, len(rs.Rows))
		l.Facets[name] = m
	}
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
		b = appendTSFederate(b, res.Shards)
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
