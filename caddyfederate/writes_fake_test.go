package caddyfederate

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeMeili is one replica of a Meilisearch-speaking engine that keeps
// documents: writes answer a task summary, GET /tasks/{uid} the task,
// search returns every document it holds.
type fakeMeili struct {
	srv *httptest.Server

	mu       sync.Mutex
	docs     map[string]json.RawMessage
	settings []string // bodies of settings writes
	tasks    map[int]string
	taskErr  bool // tasks fail
	stuck    bool // tasks stay processing
	down     bool // every request answers 503
	paths    []string
	keys     []string // X-Key header of each request
}

func newFakeMeili(t testing.TB) *fakeMeili {
	f := &fakeMeili{docs: map[string]json.RawMessage{}, tasks: map[int]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeMeili) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *fakeMeili) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id := range f.docs {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (f *fakeMeili) set(fn func(*fakeMeili)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

func (f *fakeMeili) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	f.keys = append(f.keys, r.Header.Get("X-Key"))
	w.Header().Set("Content-Type", "application/json")
	if f.down {
		w.WriteHeader(503)
		io.WriteString(w, `{"message":"down","code":"internal","type":"internal"}`)
		return
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if segs[0] == "tasks" && len(segs) == 2 {
		n, _ := strconv.Atoi(segs[1])
		st, ok := f.tasks[n]
		if !ok {
			w.WriteHeader(404)
			return
		}
		fmt.Fprintf(w, `{"uid":%d,"status":%q,"details":{"receivedDocuments":1}}`, n, st)
		return
	}
	if segs[len(segs)-1] == "update" {
		var docs []map[string]json.RawMessage
		var del struct{ Delete []json.RawMessage }
		if json.Unmarshal(body, &docs) == nil {
			for _, d := range docs {
				f.docs[strings.Trim(string(d["id"]), `"`)], _ = json.Marshal(d)
			}
		} else if json.Unmarshal(body, &del) == nil {
			for _, id := range del.Delete {
				delete(f.docs, strings.Trim(string(id), `"`))
			}
		}
		io.WriteString(w, `{"responseHeader":{"status":0,"QTime":1}}`)
		return
	}
	if segs[len(segs)-1] == "import" {
		f.tsImport(w, body)
		return
	}
	if segs[len(segs)-1] == "_bulk" {
		f.bulk(w, body)
		return
	}
	if len(segs) >= 3 && segs[2] == "search" {
		var hits []json.RawMessage
		for _, d := range f.docs {
			hits = append(hits, d)
		}
		b, _ := json.Marshal(map[string]any{"hits": hits, "estimatedTotalHits": len(hits), "query": "", "limit": 20, "offset": 0, "processingTimeMs": 1})
		w.Write(b)
		return
	}
	switch {
	case len(segs) == 3 && segs[2] == "documents" && r.Method != http.MethodDelete:
		var docs []map[string]json.RawMessage
		if err := json.Unmarshal(body, &docs); err != nil {
			w.WriteHeader(400)
			io.WriteString(w, `{"message":"bad payload","code":"malformed_payload","type":"invalid_request"}`)
			return
		}
		for _, d := range docs {
			raw, _ := json.Marshal(d)
			f.docs[strings.Trim(string(d["id"]), `"`)] = raw
		}
	case len(segs) == 4 && segs[3] == "delete-batch":
		var ids []json.RawMessage
		json.Unmarshal(body, &ids)
		for _, id := range ids {
			delete(f.docs, strings.Trim(string(id), `"`))
		}
	case len(segs) == 4 && segs[2] == "documents" && r.Method == http.MethodDelete:
		delete(f.docs, segs[3])
	case len(segs) >= 3 && segs[2] == "settings":
		f.settings = append(f.settings, string(body))
	}
	n := len(f.tasks)
	f.tasks[n] = "succeeded"
	if f.taskErr {
		f.tasks[n] = "failed"
	}
	if f.stuck {
		f.tasks[n] = "processing"
	}
	w.WriteHeader(202)
	fmt.Fprintf(w, `{"taskUid":%d,"indexUid":"movies","status":"enqueued","type":"x","enqueuedAt":"2024-01-01T00:00:00Z"}`, n)
}

// fakeShards starts shards × replicas fake replicas.
func fakeShards(t testing.TB, shards, replicas int) [][]*fakeMeili {
	out := make([][]*fakeMeili, shards)
	for i := range out {
		for j := 0; j < replicas; j++ {
			out[i] = append(out[i], newFakeMeili(t))
		}
	}
	return out
}

// writeSite is a Meilisearch route with writes over the fake shards,
// named s0, s1, ...
func writeSite(mode string, shards [][]*fakeMeili, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\tfederate {\n\t\tname w\n\t\tdialect meilisearch\n\t\twrites %s\n\t\tcoalesce off\n%s\n", mode, strings.Join(extra, "\n"))
	for i, reps := range shards {
		var addrs []string
		for _, r := range reps {
			addrs = append(addrs, r.addr())
		}
		fmt.Fprintf(&b, "\t\tshard s%d %s {\n\t\t\tlb_policy round_robin\n\t\t}\n", i, strings.Join(addrs, " "))
	}
	b.WriteString("\t}")
	return b.String()
}

// doJSON sends a request and decodes its JSON answer.
func doJSON(t testing.TB, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d %q is not a JSON object", method, url, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// bulk applies an Elasticsearch _bulk body (index and delete actions) and
// answers one item per action; an item whose document has "fail": true
// answers 400.
func (f *fakeMeili) bulk(w http.ResponseWriter, body []byte) {
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	var items []string
	for i := 0; i < len(lines); i++ {
		var action map[string]struct {
			ID string `json:"_id"`
		}
		json.Unmarshal([]byte(lines[i]), &action)
		for op, meta := range action {
			status := 201
			switch op {
			case "delete":
				delete(f.docs, meta.ID)
				status = 200
			default:
				i++
				if strings.Contains(lines[i], `"fail":true`) {
					status = 400
				} else {
					f.docs[meta.ID] = json.RawMessage(lines[i])
				}
			}
			items = append(items, fmt.Sprintf(`{%q:{"_index":"docs","_id":%q,"status":%d}}`, op, meta.ID, status))
		}
	}
	fmt.Fprintf(w, `{"took":1,"errors":false,"items":[%s]}`, strings.Join(items, ","))
}

// tsImport applies a Typesense import (JSONL) and answers one result line
// per document; a document with "fail": true fails.
func (f *fakeMeili) tsImport(w http.ResponseWriter, body []byte) {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		var d map[string]json.RawMessage
		if json.Unmarshal([]byte(line), &d) != nil || strings.Contains(line, `"fail":true`) {
			out = append(out, fmt.Sprintf(`{"success":false,"error":"rejected","document":%q}`, line))
			continue
		}
		f.docs[strings.Trim(string(d["id"]), `"`)] = json.RawMessage(line)
		out = append(out, `{"success":true}`)
	}
	io.WriteString(w, strings.Join(out, "\n"))
}
