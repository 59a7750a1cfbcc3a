package dialect

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func writeReq(method, target, body, ctype string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	return r
}

// TestDecodeWriteMeilisearch: which endpoints are writes, of what kind,
// and the ids they carry.
func TestDecodeWriteMeilisearch(t *testing.T) {
	d := meilisearch{}
	for _, c := range []struct {
		method, target, body, ctype string
		kind                        WriteKind
		typ                         string
		ids                         []string
	}{
		{"POST", "/indexes/movies/documents", `[{"id":1},{"id":"b"}]`, "application/json", WriteRouted, meiliDocAdd, []string{"1", "b"}},
		{"PUT", "/indexes/movies/documents", `{"id":7}`, "", WriteRouted, meiliDocAdd, []string{"7"}},
		{"POST", "/indexes/movies/documents", "{\"id\":1}\n{\"id\":2}\n", "application/x-ndjson", WriteRouted, meiliDocAdd, []string{"1", "2"}},
		{"POST", "/indexes/movies/documents?primaryKey=sku", `[{"sku":"a","id":9}]`, "", WriteRouted, meiliDocAdd, []string{"a"}},
		{"DELETE", "/indexes/movies/documents/a-b_1", ``, "", WriteRouted, meiliDocDelete, []string{"a-b_1"}},
		{"POST", "/indexes/movies/documents/delete-batch", `[1,"2"]`, "", WriteRouted, meiliDocDelete, []string{"1", "2"}},
		{"POST", "/indexes/movies/documents/delete", `{"filter":"a = 1"}`, "", WriteAll, meiliDocDelete, nil},
		{"DELETE", "/indexes/movies/documents", ``, "", WriteAll, meiliDocDelete, nil},
		{"PATCH", "/indexes/movies/settings", `{}`, "", WriteAll, meiliSettings, nil},
		{"PUT", "/indexes/movies/settings/filterable-attributes", `[]`, "", WriteAll, meiliSettings, nil},
		{"POST", "/indexes", `{"uid":"movies"}`, "", WriteAll, meiliIndexCreate, nil},
		{"DELETE", "/indexes/movies", ``, "", WriteAll, meiliIndexDelete, nil},
		{"GET", "/tasks/12", ``, "", WriteTaskGet, "", nil},
		{"GET", "/tasks?statuses=failed", ``, "", WriteTaskList, "", nil},
	} {
		w, err := d.DecodeWrite(writeReq(c.method, c.target, c.body, c.ctype), []byte(c.body), "")
		if err != nil || w == nil {
			t.Errorf("%s %s: %v, %v", c.method, c.target, w, err)
			continue
		}
		var ids []string
		for _, it := range w.Items {
			ids = append(ids, it.ID)
		}
		if w.Kind != c.kind || w.Type != c.typ || strings.Join(ids, ",") != strings.Join(c.ids, ",") {
			t.Errorf("%s %s: kind %d type %q ids %v; want %d %q %v", c.method, c.target, w.Kind, w.Type, ids, c.kind, c.typ, c.ids)
		}
	}
	for _, c := range [][2]string{{"POST", "/indexes/movies/search"}, {"GET", "/indexes/movies/search"}, {"GET", "/indexes/movies/settings"},
		{"GET", "/indexes/movies/documents/1"}, {"POST", "/multi-search"}, {"GET", "/health"}} {
		if w, err := d.DecodeWrite(writeReq(c[0], c[1], "", ""), nil, ""); w != nil || err != nil {
			t.Errorf("%s %s is not a write: got %v, %v", c[0], c[1], w, err)
		}
	}
}

// TestBuildWriteMeilisearch: a shard's batch carries its documents in the
// client's order, and the shard's index replaces the client's.
func TestBuildWriteMeilisearch(t *testing.T) {
	d := meilisearch{}
	body := `[{"id":1,"t":"a"},{"id":2},{"id":3}]`
	w, err := d.DecodeWrite(writeReq("POST", "/indexes/movies/documents?x=1", body, ""), []byte(body), "")
	if err != nil {
		t.Fatal(err)
	}
	req := d.BuildWrite(w, []int{0, 2}, "films")
	if req.Path != "/indexes/films/documents" || req.RawQuery != "x=1" || string(req.Body) != `[{"id":1,"t":"a"},{"id":3}]` {
		t.Errorf("batch %s %s?%s %s", req.Method, req.Path, req.RawQuery, req.Body)
	}
	if pa := d.DecodePart(w, 2, 202, []byte(`{"taskUid":41,"status":"enqueued"}`)); !pa.OK || pa.TaskUID != 41 {
		t.Errorf("part %+v", pa)
	}
	if pa := d.DecodePart(w, 2, 400, []byte(`{"message":"bad","code":"x"}`)); pa.OK || !strings.Contains(pa.Reason, "bad") {
		t.Errorf("refused part %+v", pa)
	}
}

// TestDecodeWriteElasticsearch: _bulk items, generated ids, rejected
// items, single documents and whole-index writes.
func TestDecodeWriteElasticsearch(t *testing.T) {
	d := esDialect{name: esName}
	bulk := "{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"x\":1}\n{\"delete\":{\"_id\":\"2\"}}\n{\"create\":{}}\n{\"y\":2}\n{\"update\":{\"_index\":\"a\"}}\n{\"doc\":{}}\n"
	w, err := d.DecodeWrite(writeReq("POST", "/_bulk", bulk, "application/x-ndjson"), []byte(bulk), "")
	if err != nil || w.Kind != WriteRouted || len(w.Items) != 4 {
		t.Fatalf("bulk: %+v %v", w, err)
	}
	if w2, err := d.DecodeWrite(writeReq("POST", "/a/_bulk", bulk, ""), []byte(bulk), ""); err != nil || w2.Index != "a" || w2.Items[1].Err != nil {
		t.Errorf("bulk with the index in the path: %+v %v", w2, err)
	}
	if it := w.Items[0]; it.ID != "1" || it.Action != "index" || it.Err != nil {
		t.Errorf("item 0 %+v", it)
	}
	if it := w.Items[1]; it.ID != "2" || it.Err == nil || !strings.Contains(it.Err.Message, "index is missing") {
		t.Errorf("item 1 (no index): %+v", it)
	}
	if it := w.Items[2]; len(it.ID) != 20 || !strings.Contains(string(it.Meta), it.ID) {
		t.Errorf("item 2 (generated id): %+v %s", it, it.Meta)
	}
	if it := w.Items[3]; it.Err == nil || !strings.Contains(it.Err.Message, "id is missing") {
		t.Errorf("item 3 (update without id): %+v", it)
	}
	req := d.BuildWrite(w, []int{0}, "shard-a")
	if string(req.Body) != "{\"index\":{\"_id\":\"1\",\"_index\":\"shard-a\"}}\n{\"x\":1}\n" {
		t.Errorf("shard batch %q", req.Body)
	}
	for _, c := range []struct {
		method, target string
		kind           WriteKind
	}{
		{"PUT", "/docs/_doc/1", WriteRouted}, {"DELETE", "/docs/_doc/1", WriteRouted}, {"POST", "/docs/_update/1", WriteRouted},
		{"POST", "/docs/_doc", WriteRouted}, {"POST", "/docs/_delete_by_query", WriteAll}, {"PUT", "/docs", WriteAll},
		{"DELETE", "/docs", WriteAll},
	} {
		w, err := d.DecodeWrite(writeReq(c.method, c.target, `{}`, ""), []byte(`{}`), "")
		if err != nil || w == nil || w.Kind != c.kind {
			t.Errorf("%s %s: %+v %v", c.method, c.target, w, err)
		}
	}
	for _, c := range [][2]string{{"POST", "/docs/_search"}, {"GET", "/docs/_search"}, {"GET", "/docs/_doc/1"}, {"GET", "/docs/_count"}, {"GET", "/"}} {
		if w, err := d.DecodeWrite(writeReq(c[0], c[1], "", ""), nil, ""); w != nil || err != nil {
			t.Errorf("%s %s is not a write: got %+v, %v", c[0], c[1], w, err)
		}
	}
	if _, err := d.DecodeWrite(writeReq("POST", "/_bulk", "{\"bogus\":{}}\n", ""), []byte("{\"bogus\":{}}\n"), ""); err == nil {
		t.Errorf("an unknown bulk action is accepted")
	}
}

// FuzzDecodeWrite: no write decoder panics on any body, and what it
// accepts it can rebuild for a shard.
func FuzzDecodeWrite(f *testing.F) {
	f.Add("POST", "/indexes/a/documents", `[{"id":1}]`)
	f.Add("POST", "/indexes/a/documents/delete-batch", `[1,"x"]`)
	f.Add("POST", "/_bulk", "{\"index\":{\"_index\":\"a\"}}\n{}\n")
	f.Add("POST", "/indexes", `{"uid":"x"}`)
	f.Add("POST", "/solr/c/update", `{"delete":["a",1]}`)
	f.Add("POST", "/collections/c/documents/import", "{\"id\":\"a\"}\n{}\nx\n")
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if _, err := url.ParseRequestURI(target); err != nil || !strings.HasPrefix(target, "/") ||
			strings.ContainsAny(target, " \t\r\n#") || !validMethod(method) {
			return
		}
		for _, d := range []WriteDialect{meilisearch{}, esDialect{name: esName}, typesense{}, solr{}} {
			r := writeReq(method, target, body, "application/x-ndjson")
			w, err := d.DecodeWrite(r, []byte(body), "")
			if err != nil || w == nil {
				continue
			}
			all := make([]int, len(w.Items))
			for i := range all {
				all[i] = i
			}
			_ = d.BuildWrite(w, all, "other")
		}
	})
}

func validMethod(m string) bool {
	switch m {
	case "GET", "POST", "PUT", "PATCH", "DELETE":
		return true
	}
	return false
}

// TestDecodeWriteTypesense: import lines, generated ids written into the
// document, rejected lines kept in place.
func TestDecodeWriteTypesense(t *testing.T) {
	d := typesense{}
	body := "{\"id\":\"a\"}\n{}\n{ \"x\": 1 }\nnope\n{\"id\":5}\n"
	w, err := d.DecodeWrite(writeReq("POST", "/collections/c/documents/import", body, ""), []byte(body), "")
	if err != nil || w.Kind != WriteRouted || len(w.Items) != 5 {
		t.Fatalf("%+v %v", w, err)
	}
	for i, it := range w.Items {
		switch i {
		case 3:
			if it.Err == nil {
				t.Errorf("line 3 (not JSON) accepted")
			}
		default:
			if it.Err != nil || it.ID == "" || !json.Valid(it.Doc) || !strings.Contains(string(it.Doc), it.ID) {
				t.Errorf("line %d: %+v %s", i, it, it.Doc)
			}
		}
	}
	req := d.BuildWrite(w, []int{0, 4}, "c2")
	if req.Path != "/collections/c2/documents/import" || string(req.Body) != "{\"id\":\"a\"}\n{\"id\":5}" {
		t.Errorf("batch %s %q", req.Path, req.Body)
	}
	for _, c := range [][2]string{{"POST", "/collections/c/documents/search"}, {"GET", "/collections/c/documents/search"}, {"POST", "/multi_search"}} {
		if w, err := d.DecodeWrite(writeReq(c[0], c[1], "", ""), nil, ""); w != nil || err != nil {
			t.Errorf("%s %s is not a write: %+v %v", c[0], c[1], w, err)
		}
	}
}

// TestDecodeWriteSolr: arrays of documents and deletes by id are routed,
// commands go to every shard, add commands are refused with what to send.
func TestDecodeWriteSolr(t *testing.T) {
	d := solr{}
	for _, c := range []struct {
		target, body string
		kind         WriteKind
		ids          string
	}{
		{"/solr/c/update", `[{"id":"a"},{"id":2}]`, WriteRouted, "a,2"},
		{"/solr/c/update?commit=true", `{"delete":["x","y"]}`, WriteRouted, "x,y"},
		{"/solr/c/update", `{"delete":{"id":"z"}}`, WriteRouted, "z"},
		{"/solr/c/update", `{"delete":{"query":"*:*"}}`, WriteAll, ""},
		{"/solr/c/update?commit=true", ``, WriteAll, ""},
		{"/solr/c/update/json/docs", `{"commit":{}}`, WriteAll, ""},
	} {
		w, err := d.DecodeWrite(writeReq("POST", c.target, c.body, ""), []byte(c.body), "")
		if err != nil || w == nil {
			t.Errorf("%s %s: %v %v", c.target, c.body, w, err)
			continue
		}
		var ids []string
		for _, it := range w.Items {
			ids = append(ids, it.ID)
		}
		if w.Kind != c.kind || strings.Join(ids, ",") != c.ids || w.Index != "c" {
			t.Errorf("%s %s: kind %d ids %v index %q", c.target, c.body, w.Kind, ids, w.Index)
		}
	}
	w, _ := d.DecodeWrite(writeReq("POST", "/solr/c/update", `{"delete":["x","y"]}`, ""), []byte(`{"delete":["x","y"]}`), "")
	if req := d.BuildWrite(w, []int{1}, "c2"); req.Path != "/solr/c2/update" || string(req.Body) != `{"delete":["y"]}` {
		t.Errorf("delete batch %s %s", req.Path, req.Body)
	}
	if _, err := d.DecodeWrite(writeReq("POST", "/solr/c/update", `{"add":{"doc":{"id":1}}}`, ""), []byte(`{"add":{"doc":{"id":1}}}`), ""); err == nil {
		t.Errorf("an add command is accepted")
	}
	if w, err := d.DecodeWrite(writeReq("POST", "/solr/c/select", `{}`, ""), []byte(`{}`), ""); w != nil || err != nil {
		t.Errorf("a search is a write: %+v %v", w, err)
	}
}
