package dialect

import (
	"bytes"
	"net/http"
	"net/url"
	"sort"
	"strings"
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
	return q, decodeGrnSort(q, p)
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
		if isLiteral(val) {
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

// Route serves the select command, /d/select (GET or POST).
func (groonga) Route(method, path string) Endpoint {
	if segs := lastSegments(path, 1); len(segs) == 1 && (segs[0] == "select" || segs[0] == "select.json") {
		return allowSearch(method, http.MethodGet, http.MethodHead, http.MethodPost)
	}
	return Endpoint{Op: OpNotFound}
}
