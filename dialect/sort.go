package dialect

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/searchfront/caddy-federate/merge"
)

// A sort by document fields is decoded from each client dialect into
// Query.Sort (a relevance sort is no sort: relevance is always the last
// tie-break), translated into each shard dialect, and each shard's hits
// carry their sort values (Hit.Keys) so that merge.Sorted can merge them
// exactly. Sorts no merge can reproduce (geo distance, scripts, functions,
// index order, missing values first) are refused with a 400 in the client's
// dialect.

// sortSpec is one parsed sort item: a field with a direction, or relevance.
type sortSpec struct {
	field     string
	desc      bool
	relevance bool
}

// foldSort turns parsed items into Query.Sort: items up to the first
// relevance item (relevance decides the rest); nil when relevance leads.
func foldSort(items []sortSpec) []merge.Order {
	var out []merge.Order
	for _, it := range items {
		if it.relevance {
			break
		}
		out = append(out, merge.Order{Field: it.field, Desc: it.desc})
	}
	return out
}

// decodeESSort reads the body's "sort" (a string, an object or an array of
// them) and the sort URL parameter ("f:asc,g"), which wins.
func decodeESSort(q *Query, raw []byte, p url.Values) error {
	var items []sortSpec
	if v := p.Get("sort"); v != "" {
		for _, s := range splitList(v) {
			f, dir, _ := strings.Cut(s, ":")
			it, err := esSortItem(f, dir, nil)
			if err != nil {
				return err
			}
			items = append(items, it)
		}
		q.Sort = foldSort(items)
		return nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var elems []json.RawMessage
	if raw[0] == '[' {
		if json.Unmarshal(raw, &elems) != nil {
			return esParsing("[sort] expected a field, an object or an array of them")
		}
	} else {
		elems = []json.RawMessage{raw}
	}
	for _, e := range elems {
		var name string
		if json.Unmarshal(e, &name) == nil {
			it, err := esSortItem(name, "", nil)
			if err != nil {
				return err
			}
			items = append(items, it)
			continue
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(e, &m) != nil || len(m) != 1 {
			return esParsing("[sort] expected a field name or {\"field\": order}")
		}
		for f, v := range m {
			var dir string
			var opts map[string]json.RawMessage
			if json.Unmarshal(v, &dir) != nil {
				if json.Unmarshal(v, &opts) != nil || opts == nil {
					return esParsing("[sort] the order of [" + f + "] must be \"asc\", \"desc\" or an object")
				}
				_ = json.Unmarshal(opts["order"], &dir)
			}
			it, err := esSortItem(f, dir, opts)
			if err != nil {
				return err
			}
			items = append(items, it)
		}
	}
	q.Sort = foldSort(items)
	return nil
}

// esSortItem checks one Elasticsearch sort item.
func esSortItem(field, dir string, opts map[string]json.RawMessage) (sortSpec, error) {
	if dir != "" && dir != "asc" && dir != "desc" {
		return sortSpec{}, esIllegal("[sort] order of [" + field + "] must be asc or desc, not [" + dir + "]")
	}
	switch {
	case field == "_score":
		if dir == "asc" {
			return sortSpec{}, esIllegal("[sort] _score ascending cannot be federated: relevance scores of different shards do not compare")
		}
		return sortSpec{relevance: true}, nil
	case field == "" || field[0] == '_':
		return sortSpec{}, esIllegal("[sort] on [" + field + "] cannot be federated: sort by document fields or _score")
	}
	for k, v := range opts {
		switch k {
		case "order", "unmapped_type", "numeric_type", "format":
		case "missing":
			if string(bytes.TrimSpace(v)) != `"_last"` {
				return sortSpec{}, esIllegal("[sort] missing values of [" + field + "] can only sort _last in a federated search")
			}
		case "mode":
			if m := string(bytes.TrimSpace(v)); (m != `"min"` || dir == "desc") && (m != `"max"` || dir != "desc") {
				return sortSpec{}, esIllegal("[sort] mode of [" + field + "] must be the default (min ascending, max descending) in a federated search")
			}
		default:
			return sortSpec{}, esIllegal("[sort] option [" + k + "] of [" + field + "] cannot be federated")
		}
	}
	return sortSpec{field: field, desc: dir == "desc"}, nil
}

// decodeMeiliSort reads sort: ["price:asc", ...] (a JSON array, or the GET
// form's comma-separated list when raw is a JSON string).
func decodeMeiliSort(q *Query, raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var rules []string
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		rules = splitList(s)
	} else if json.Unmarshal(raw, &rules) != nil {
		return meiliError("invalid_search_sort", "Invalid value type at `.sort`: expected an array of strings like \"price:asc\".")
	}
	var items []sortSpec
	for _, r := range rules {
		f, dir, ok := strings.Cut(strings.TrimSpace(r), ":")
		if !ok || (dir != "asc" && dir != "desc") || f == "" {
			return meiliError("invalid_search_sort", "Invalid syntax for the sort parameter: expected `field:asc` or `field:desc`, found `"+r+"`.")
		}
		if f == "_rankingScore" || f == "_score" {
			items = append(items, sortSpec{relevance: true})
			continue
		}
		if strings.Contains(f, "(") {
			return meiliError("invalid_search_sort", "`"+r+"` cannot be federated: federate merges sorts by document fields only (no _geoPoint).")
		}
		items = append(items, sortSpec{field: f, desc: dir == "desc"})
	}
	q.Sort = foldSort(items)
	return nil
}

// decodeSolrSort reads sort=price asc,title desc (score is relevance).
func decodeSolrSort(q *Query, s string) error {
	var items []sortSpec
	for _, part := range splitList(s) {
		fs := strings.Fields(part)
		if len(fs) != 2 || (fs[1] != "asc" && fs[1] != "desc") {
			return solrError("bad_request", "Can't determine a Sort Order (asc or desc) in sort spec '"+part+"'.")
		}
		switch {
		case fs[0] == "score":
			if fs[1] == "asc" {
				return solrError("bad_request", "sort 'score asc' cannot be federated: relevance scores of different shards do not compare.")
			}
			items = append(items, sortSpec{relevance: true})
		case !isFieldName(fs[0]):
			return solrError("bad_request", "sort '"+part+"' cannot be federated: sort by fields or score, not by functions.")
		default:
			items = append(items, sortSpec{field: fs[0], desc: fs[1] == "desc"})
		}
	}
	q.Sort = foldSort(items)
	return nil
}

// decodeTSSort reads sort_by=price:asc,title:desc (_text_match is
// relevance).
func decodeTSSort(q *Query, s string) error {
	var items []sortSpec
	for _, part := range splitList(s) {
		f, dir, ok := strings.Cut(part, ":")
		f, dir = strings.TrimSpace(f), strings.ToLower(strings.TrimSpace(dir))
		if !ok || (dir != "asc" && dir != "desc") {
			return tsError(http.StatusBadRequest, "Bad syntax for sorting field `"+part+"`: expected field:asc or field:desc.")
		}
		switch {
		case f == "_text_match":
			items = append(items, sortSpec{relevance: true})
		case !isFieldName(f):
			return tsError(http.StatusBadRequest, "Sort `"+part+"` cannot be federated: sort by fields or _text_match (no _eval, geo or missing_values options).")
		default:
			items = append(items, sortSpec{field: f, desc: dir == "desc"})
		}
	}
	q.Sort = foldSort(items)
	return nil
}

func sortDir(desc bool) string {
	if desc {
		return "desc"
	}
	return "asc"
}

func (esDialect) translateSort(req *Request, q *Query, _ Target) error {
	b := []byte{'['}
	for _, o := range q.Sort {
		b = append(b, '{')
		b = appendString(b, o.Field)
		b = append(b, `:{"order":"`...)
		b = append(b, sortDir(o.Desc)...)
		b = append(b, `","missing":"_last","unmapped_type":"keyword"}},`...)
	}
	b = append(b, `"_score"]`...)
	req.Body = setMembers(req.Body, field{"sort", b}, field{"track_scores", []byte("true")})
	return nil
}

func (meilisearch) translateSort(req *Request, q *Query, _ Target) error {
	rules := make([]string, len(q.Sort))
	for i, o := range q.Sort {
		rules[i] = o.Field + ":" + sortDir(o.Desc)
	}
	fs := []field{{"sort", appendStrings(nil, rules)}}
	if q.Fields != nil {
		// The sort values are read from the documents: retrieve them.
		keep := slices.Clone(q.Fields)
		for _, o := range q.Sort {
			if !slices.Contains(keep, o.Field) {
				keep = append(keep, o.Field)
			}
		}
		if !slices.Contains(keep, "id") {
			keep = append(keep, "id")
		}
		fs = append(fs, field{"attributesToRetrieve", appendStrings(nil, keep)})
	}
	req.Body = setMembers(req.Body, fs...)
	return nil
}

func (solr) translateSort(req *Request, q *Query, _ Target) error {
	parts := make([]string, 0, len(q.Sort)+1)
	for _, o := range q.Sort {
		parts = append(parts, o.Field+" "+sortDir(o.Desc))
	}
	setParams(req, url.Values{"sort": {strings.Join(append(parts, "score desc"), ",")}})
	if q.Fields != nil {
		setParams(req, url.Values{"fl": {strings.Join(append(append(append([]string{}, q.Fields...), sortFields(q)...), "id", "score"), ",")}})
	}
	return nil
}

func (typesense) translateSort(req *Request, q *Query, t Target) error {
	if len(q.Sort) > 3 {
		return unsupportedConstruct(t, tsName, "a sort by more than 3 fields")
	}
	parts := make([]string, 0, 3)
	for _, o := range q.Sort {
		parts = append(parts, o.Field+":"+sortDir(o.Desc))
	}
	if len(parts) < 3 {
		parts = append(parts, "_text_match:desc")
	}
	setParams(req, url.Values{"sort_by": {strings.Join(parts, ",")}})
	if q.Fields != nil {
		setParams(req, url.Values{"include_fields": {strings.Join(append(append(append([]string{}, q.Fields...), sortFields(q)...), "id"), ",")}})
	}
	return nil
}

func (groonga) translateSort(req *Request, q *Query, t Target) error {
	parts := make([]string, 0, len(q.Sort)+1)
	for _, o := range q.Sort {
		if strings.Contains(o.Field, "-") {
			return unsupportedConstruct(t, grnName, "a sort on field "+strconv.Quote(o.Field))
		}
		k := o.Field
		if o.Desc {
			k = "-" + k
		}
		parts = append(parts, k)
	}
	setParams(req, url.Values{"sort_keys": {strings.Join(append(parts, "-_score"), ",")}})
	return nil
}

func (groonga) translateHighlight(_ *Request, _ *Highlight, t Target) error {
	return unsupportedConstruct(t, grnName, "highlighting (leave it out or query other shards)")
}

// sortFields lists the sort's fields.
func sortFields(q *Query) []string {
	out := make([]string, len(q.Sort))
	for i, o := range q.Sort {
		out[i] = o.Field
	}
	return out
}

// sortKeys reads a hit's values of the sort fields from its document; an
// Elasticsearch hit whose _source lacks one falls back to its sort array.
func sortKeys(shardDialect string, h *merge.Hit, order []merge.Order) []merge.Value {
	keys := make([]merge.Value, len(order))
	var esSort [][]byte
	for i, o := range order {
		if v, ok := lookupPath(h.Doc, o.Field); ok {
			keys[i] = sortValue(v, o.Desc)
			if keys[i].Kind != merge.Missing {
				continue
			}
		}
		if shardDialect != esName && shardDialect != "opensearch" {
			continue
		}
		if esSort == nil {
			arr, _ := member(h.Native, "sort")
			_ = eachElement(arr, func(e []byte) bool { esSort = append(esSort, e); return true })
			if esSort == nil {
				esSort = [][]byte{}
			}
		}
		if i < len(esSort) && !esMissingSentinel(esSort[i]) {
			keys[i] = sortValue(esSort[i], o.Desc)
		}
	}
	return keys
}

// esMissingSentinel reports the values Elasticsearch puts in a hit's sort
// array for a missing value (the extremes of long and double).
func esMissingSentinel(v []byte) bool {
	switch string(bytes.TrimSpace(v)) {
	case "9223372036854775807", "-9223372036854775808", "1.7976931348623157E308", "-1.7976931348623157E308",
		`"Infinity"`, `"-Infinity"`, "null":
		return true
	}
	return false
}

// sortValue types one JSON value: numbers as numbers, strings as strings,
// booleans as 0/1, an array as its smallest (ascending) or largest
// (descending) element, as engines sort multi-valued fields; anything else
// is missing.
func sortValue(v []byte, desc bool) merge.Value {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return merge.Value{}
	}
	switch v[0] {
	case '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return merge.Value{}
		}
		return merge.StringValue(s)
	case 't':
		return merge.NumberValue(1)
	case 'f':
		return merge.NumberValue(0)
	case 'n', '{':
		return merge.Value{}
	case '[':
		var best merge.Value
		_ = eachElement(v, func(e []byte) bool {
			x := sortValue(e, desc)
			if x.Kind != merge.Missing && (best.Kind == merge.Missing || merge.CompareHits(&merge.Hit{Keys: []merge.Value{x}}, &merge.Hit{Keys: []merge.Value{best}}, []merge.Order{{Desc: desc}}) < 0) {
				best = x
			}
			return true
		})
		return best
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return merge.Value{}
	}
	return merge.NumberValue(f)
}

// decodeFederateSort reads the federate dialect's sort: "field:asc" or
// "field:desc" items, "_score:desc" being relevance.
func decodeFederateSort(q *Query, rules []string) error {
	var items []sortSpec
	for _, r := range rules {
		f, dir, ok := strings.Cut(strings.TrimSpace(r), ":")
		switch {
		case !ok || (dir != "asc" && dir != "desc") || f == "":
			return federateError("sort item " + strconv.Quote(r) + " must be field:asc or field:desc")
		case f == "_score" && dir == "desc":
			items = append(items, sortSpec{relevance: true})
		case !isFieldName(f) || f[0] == '_':
			return federateError("sort item " + strconv.Quote(r) + " cannot be merged: sort by document fields or _score:desc")
		default:
			items = append(items, sortSpec{field: f, desc: dir == "desc"})
		}
	}
	q.Sort = foldSort(items)
	return nil
}

// decodeGrnSort reads Groonga's sort_keys (or sortby): columns, "-" for
// descending; _score is relevance, _key the document id ("id").
func decodeGrnSort(q *Query, p url.Values) error {
	s := p.Get("sort_keys")
	if s == "" {
		s = p.Get("sortby")
	}
	var items []sortSpec
	for _, k := range splitList(s) {
		desc := strings.HasPrefix(k, "-")
		f := strings.TrimPrefix(k, "-")
		switch {
		case f == "_score" && desc:
			items = append(items, sortSpec{relevance: true})
		case f == "_key":
			items = append(items, sortSpec{field: "id", desc: desc})
		case !isFieldName(f) || f[0] == '_':
			return grnError("[select] sort key <" + k + "> cannot be federated: sort by columns or -_score.")
		default:
			items = append(items, sortSpec{field: f, desc: desc})
		}
	}
	q.Sort = foldSort(items)
	return nil
}
