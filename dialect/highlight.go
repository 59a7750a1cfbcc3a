package dialect

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/searchfront/caddy-federate/merge"
)

// Highlight is a request for highlighted fields, in every dialect's terms:
// Meilisearch attributesToHighlight/attributesToCrop, Elasticsearch
// highlight, Solr hl, Typesense highlight_fields. A shard's highlighted
// fragments travel on merge.Hit.Highlight (field → fragments) and each
// client dialect writes them in its own shape: Meilisearch _formatted,
// Elasticsearch hit highlight, Solr highlighting, Typesense highlights.
type Highlight struct {
	// Fields are highlighted whole; "*" means every field.
	Fields []string
	// Crop are cut to a snippet around the matches, and highlighted.
	Crop []string
	// CropLength is the snippet length in words; 0 means 10.
	CropLength int
	// PreTag and PostTag surround matches; the client dialect's defaults
	// (<em></em>, Typesense <mark></mark>) are filled in by its decoder.
	PreTag, PostTag string
	// Implicit is true when the client did not ask: its dialect highlights
	// by default (Typesense, its query_by fields). A shard that cannot
	// highlight is then asked without, rather than refused.
	Implicit bool
}

// all lists every field asked for, whole or cropped.
func (hl *Highlight) all() []string {
	out := slices.Clone(hl.Fields)
	for _, f := range hl.Crop {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// wants reports whether field f is asked for.
func (hl *Highlight) wants(f string) bool {
	return slices.Contains(hl.Fields, "*") || slices.Contains(hl.Fields, f) || slices.Contains(hl.Crop, f)
}

// cropWords is the snippet length in words.
func (hl *Highlight) cropWords() int {
	if hl.CropLength > 0 {
		return hl.CropLength
	}
	return 10
}

// charsPerWord converts between word-counted crops (Meilisearch, Typesense)
// and character-counted fragments (Elasticsearch, Solr).
const charsPerWord = 6

// decodeMeiliHighlight reads attributesToHighlight, attributesToCrop,
// cropLength and the highlight tags from a POST body's members.
func decodeMeiliHighlight(q *Query, m map[string]json.RawMessage) error {
	hl := &Highlight{PreTag: "<em>", PostTag: "</em>"}
	for _, l := range []struct {
		key string
		dst *[]string
	}{{"attributesToHighlight", &hl.Fields}, {"attributesToCrop", &hl.Crop}} {
		if v, ok := m[l.key]; ok && string(v) != "null" {
			if json.Unmarshal(v, l.dst) != nil {
				return meiliError("invalid_search_"+snake(l.key), "Invalid value type at `."+l.key+"`: expected an array of strings.")
			}
		}
	}
	if v, ok := m["cropLength"]; ok && string(v) != "null" {
		n, ok := rawCount(v)
		if !ok {
			return meiliError("invalid_search_crop_length", "Invalid value type at `.cropLength`: expected a positive integer.")
		}
		hl.CropLength = n
	}
	for _, t := range []struct {
		key string
		dst *string
	}{{"highlightPreTag", &hl.PreTag}, {"highlightPostTag", &hl.PostTag}} {
		if v, ok := m[t.key]; ok && string(v) != "null" {
			if json.Unmarshal(v, t.dst) != nil {
				return meiliError("invalid_search_"+snake(t.key), "Invalid value type at `."+t.key+"`: expected a string.")
			}
		}
	}
	meiliSetHighlight(q, hl)
	return nil
}

// decodeMeiliHighlightParams reads the GET form (comma-separated lists).
func decodeMeiliHighlightParams(q *Query, p url.Values) error {
	hl := &Highlight{PreTag: "<em>", PostTag: "</em>", Fields: splitList(p.Get("attributesToHighlight")), Crop: splitList(p.Get("attributesToCrop"))}
	if s := p.Get("cropLength"); s != "" {
		n, ok := parseCount(s)
		if !ok {
			return meiliError("invalid_search_crop_length", "Invalid value in parameter `cropLength`: could not parse `"+s+"` as a positive integer.")
		}
		hl.CropLength = n
	}
	if p.Has("highlightPreTag") {
		hl.PreTag = p.Get("highlightPreTag")
	}
	if p.Has("highlightPostTag") {
		hl.PostTag = p.Get("highlightPostTag")
	}
	meiliSetHighlight(q, hl)
	return nil
}

// meiliSetHighlight keeps hl when it asks for a field; "f:n" crop items
// give the crop length.
func meiliSetHighlight(q *Query, hl *Highlight) {
	for i, c := range hl.Crop {
		if f, n, ok := strings.Cut(c, ":"); ok {
			hl.Crop[i] = f
			if w, err := strconv.Atoi(n); err == nil && w > 0 && hl.CropLength == 0 {
				hl.CropLength = w
			}
		}
	}
	if len(hl.Fields) > 0 || len(hl.Crop) > 0 {
		q.Highlight = hl
	}
}

// decodeESHighlight reads {"highlight": {pre_tags, post_tags, fields,
// fragment_size, number_of_fragments}}: a field with number_of_fragments 0
// is highlighted whole, others cropped to about fragment_size characters.
func decodeESHighlight(q *Query, raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	type opts struct {
		PreTags      []string        `json:"pre_tags"`
		PostTags     []string        `json:"post_tags"`
		FragmentSize *int            `json:"fragment_size"`
		Fragments    *int            `json:"number_of_fragments"`
		Fields       json.RawMessage `json:"fields"`
	}
	var h opts
	if json.Unmarshal(raw, &h) != nil {
		return esParsing("[highlight] expected an object with fields")
	}
	hl := &Highlight{PreTag: "<em>", PostTag: "</em>"}
	if len(h.PreTags) > 0 {
		hl.PreTag = h.PreTags[0]
	}
	if len(h.PostTags) > 0 {
		hl.PostTag = h.PostTags[0]
	}
	fields := map[string]opts{}
	var order []string
	if f := bytes.TrimSpace(h.Fields); len(f) > 0 && f[0] == '[' {
		var list []map[string]opts
		if json.Unmarshal(f, &list) != nil {
			return esParsing("[highlight] fields must be an object or an array of objects")
		}
		for _, m := range list {
			for k, v := range m {
				fields[k] = v
				order = append(order, k)
			}
		}
	} else if len(f) > 0 {
		if json.Unmarshal(f, &fields) != nil {
			return esParsing("[highlight] fields must be an object or an array of objects")
		}
		for k := range fields {
			order = append(order, k)
		}
		slices.Sort(order)
	}
	for _, name := range order {
		o := fields[name]
		frags, size := h.Fragments, h.FragmentSize
		if o.Fragments != nil {
			frags = o.Fragments
		}
		if o.FragmentSize != nil {
			size = o.FragmentSize
		}
		if frags != nil && *frags == 0 {
			hl.Fields = append(hl.Fields, name)
			continue
		}
		hl.Crop = append(hl.Crop, name)
		if size != nil && *size > 0 {
			hl.CropLength = max(1, *size/charsPerWord)
		} else if hl.CropLength == 0 {
			hl.CropLength = 100 / charsPerWord
		}
	}
	if len(hl.Fields)+len(hl.Crop) > 0 {
		q.Highlight = hl
	}
	return nil
}

// decodeSolrHighlight reads hl, hl.fl, hl.tag.pre/post (or hl.simple.*)
// and hl.fragsize (0: whole fields).
func decodeSolrHighlight(q *Query, p url.Values) {
	if on := p.Get("hl"); on != "true" && on != "on" {
		return
	}
	hl := &Highlight{PreTag: "<em>", PostTag: "</em>"}
	var fl []string
	for _, v := range p["hl.fl"] {
		fl = append(fl, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	if len(fl) == 0 {
		fl = []string{"*"}
	}
	for _, k := range []string{"hl.tag.pre", "hl.simple.pre"} {
		if p.Has(k) {
			hl.PreTag = p.Get(k)
			break
		}
	}
	for _, k := range []string{"hl.tag.post", "hl.simple.post"} {
		if p.Has(k) {
			hl.PostTag = p.Get(k)
			break
		}
	}
	size := 100
	if n, ok := parseCount(p.Get("hl.fragsize")); ok {
		size = n
	}
	if size == 0 {
		hl.Fields = fl
	} else {
		hl.Crop, hl.CropLength = fl, max(1, size/charsPerWord)
	}
	q.Highlight = hl
}

// decodeTSHighlight reads highlight_fields (default: query_by, as Typesense
// highlights the searched fields), highlight_full_fields, the tags and
// highlight_affix_num_tokens. Typesense highlights only when there is text.
func decodeTSHighlight(q *Query, p url.Values) {
	if q.Text == "" {
		return
	}
	fields := splitList(p.Get("highlight_fields"))
	implicit := len(fields) == 0
	if implicit {
		fields = splitList(p.Get("query_by"))
	}
	if len(fields) == 0 {
		return
	}
	hl := &Highlight{PreTag: "<mark>", PostTag: "</mark>", CropLength: 9, Implicit: implicit}
	if p.Has("highlight_start_tag") {
		hl.PreTag = p.Get("highlight_start_tag")
	}
	if p.Has("highlight_end_tag") {
		hl.PostTag = p.Get("highlight_end_tag")
	}
	if n, ok := parseCount(p.Get("highlight_affix_num_tokens")); ok {
		hl.CropLength = 2*n + 1
	}
	full := splitList(p.Get("highlight_full_fields"))
	for _, f := range fields {
		if slices.Contains(full, f) {
			hl.Fields = append(hl.Fields, f)
		} else {
			hl.Crop = append(hl.Crop, f)
		}
	}
	q.Highlight = hl
}

func (esDialect) translateHighlight(req *Request, hl *Highlight, _ Target) error {
	b := []byte(`{"pre_tags":[`)
	b = appendString(b, hl.PreTag)
	b = append(b, `],"post_tags":[`...)
	b = appendString(b, hl.PostTag)
	b = append(b, `],"require_field_match":false,"fields":{`...)
	n := 0
	for _, f := range hl.Fields {
		if n++; n > 1 {
			b = append(b, ',')
		}
		b = appendString(b, f)
		b = append(b, `:{"number_of_fragments":0}`...)
	}
	for _, f := range hl.Crop {
		if slices.Contains(hl.Fields, f) {
			continue
		}
		if n++; n > 1 {
			b = append(b, ',')
		}
		b = appendString(b, f)
		b = append(b, `:{"number_of_fragments":1,"fragment_size":`...)
		b = strconv.AppendInt(b, int64(hl.cropWords()*charsPerWord), 10)
		b = append(b, '}')
	}
	b = append(b, "}}"...)
	req.Body = setMembers(req.Body, field{"highlight", b})
	return nil
}

func (meilisearch) translateHighlight(req *Request, hl *Highlight, _ Target) error {
	fs := []field{
		{"attributesToHighlight", appendStrings(nil, hl.all())},
		{"highlightPreTag", appendString(nil, hl.PreTag)},
		{"highlightPostTag", appendString(nil, hl.PostTag)},
	}
	if len(hl.Crop) > 0 {
		fs = append(fs, field{"attributesToCrop", appendStrings(nil, hl.Crop)},
			field{"cropLength", strconv.AppendInt(nil, int64(hl.cropWords()), 10)})
	}
	req.Body = setMembers(req.Body, fs...)
	return nil
}

func (solr) translateHighlight(req *Request, hl *Highlight, _ Target) error {
	p := url.Values{
		"hl": {"true"}, "hl.fl": {strings.Join(hl.all(), ",")}, "hl.requireFieldMatch": {"false"},
		"hl.tag.pre": {hl.PreTag}, "hl.tag.post": {hl.PostTag}, "hl.simple.pre": {hl.PreTag}, "hl.simple.post": {hl.PostTag},
		"hl.fragsize": {"0"},
	}
	for _, f := range hl.Crop {
		if !slices.Contains(hl.Fields, f) {
			p.Set("f."+f+".hl.fragsize", strconv.Itoa(hl.cropWords()*charsPerWord))
		}
	}
	setParams(req, p)
	return nil
}

func (typesense) translateHighlight(req *Request, hl *Highlight, _ Target) error {
	p := url.Values{
		"highlight_start_tag":        {hl.PreTag},
		"highlight_end_tag":          {hl.PostTag},
		"highlight_affix_num_tokens": {strconv.Itoa(max(1, hl.cropWords()/2))},
	}
	if !slices.Contains(hl.Fields, "*") {
		p.Set("highlight_fields", strings.Join(hl.all(), ","))
		if len(hl.Fields) > 0 {
			p.Set("highlight_full_fields", strings.Join(hl.Fields, ","))
		}
	}
	setParams(req, p)
	return nil
}

// shardHighlight reads a hit's highlighted fragments in the shard's
// dialect (Solr's, outside its documents, are attached by its decoder).
func shardHighlight(shardDialect string, h *merge.Hit, hl *Highlight) map[string][]string {
	if hl == nil {
		return nil
	}
	out := map[string][]string{}
	switch shardDialect {
	case esName, "opensearch":
		obj, _ := member(h.Native, "highlight")
		_ = eachMember(obj, func(k string, v []byte, _, _ int) bool {
			var frags []string
			if json.Unmarshal(v, &frags) == nil && len(frags) > 0 {
				out[k] = frags
			}
			return true
		})
	case meiliName:
		obj, _ := member(h.Doc, "_formatted")
		_ = eachMember(obj, func(k string, v []byte, _, _ int) bool {
			var s string
			if hl.wants(k) && json.Unmarshal(v, &s) == nil {
				out[k] = []string{s}
			}
			return true
		})
	case tsName:
		tsHighlights(h.Native, out)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// tsHighlights reads Typesense's highlights array ({field, snippet,
// snippets, value}: the whole value when highlight_full_fields asked for
// it), or the nested highlight object of newer versions.
func tsHighlights(native []byte, out map[string][]string) {
	arr, _ := member(native, "highlights")
	_ = eachElement(arr, func(e []byte) bool {
		var x struct {
			Field    string   `json:"field"`
			Snippet  *string  `json:"snippet"`
			Snippets []string `json:"snippets"`
			Value    *string  `json:"value"`
		}
		if json.Unmarshal(e, &x) != nil || x.Field == "" {
			return true
		}
		switch {
		case x.Value != nil && *x.Value != "":
			out[x.Field] = []string{*x.Value}
		case len(x.Snippets) > 0:
			out[x.Field] = x.Snippets
		case x.Snippet != nil:
			out[x.Field] = []string{*x.Snippet}
		}
		return true
	})
	if len(out) > 0 {
		return
	}
	obj, _ := member(native, "highlight")
	_ = eachMember(obj, func(k string, v []byte, _, _ int) bool {
		var x struct {
			Snippet *string `json:"snippet"`
			Value   *string `json:"value"`
		}
		if json.Unmarshal(v, &x) == nil {
			switch {
			case x.Value != nil && *x.Value != "":
				out[k] = []string{*x.Value}
			case x.Snippet != nil:
				out[k] = []string{*x.Snippet}
			}
		}
		return true
	})
}

// attachSolrHighlights gives each doc its fragments from the answer's
// highlighting section, keyed by the doc's id.
func attachSolrHighlights(l *merge.List, hl map[string]map[string][]string) {
	if len(hl) == 0 {
		return
	}
	for i := range l.Hits {
		h := &l.Hits[i]
		id := h.ID
		if v, ok := lookupPath(h.Doc, "id"); ok {
			id = solrID(v)
		}
		if m := hl[id]; len(m) > 0 {
			h.Highlight = m
		}
	}
}

// joinFragments renders fragments as one string, as Meilisearch's cropped
// _formatted values read.
func joinFragments(frags []string) string { return strings.Join(frags, " … ") }
