package shardapi

// writes.go is the write API subset of a shard server: Elasticsearch
// _bulk (index, create, update, delete, with per-item answers), _doc,
// _delete_by_query and index creation/deletion; Meilisearch documents
// (add or replace, add or update, delete by id, batch and filter, delete
// all), settings and tasks. Writes are applied before the answer is sent;
// Meilisearch tasks are recorded as succeeded (or failed) at once.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Deleter is a Backend that can remove documents.
type Deleter interface {
	Delete(ctx context.Context, ids []string) error
}

// Sourcer is a Backend that returns a stored document, for partial
// updates (Meilisearch PUT documents, Elasticsearch update).
type Sourcer interface {
	Source(id string) (json.RawMessage, bool)
}

// meiliTask is one recorded Meilisearch task.
type meiliTask struct {
	UID        int             `json:"uid"`
	IndexUID   string          `json:"indexUid"`
	Status     string          `json:"status"`
	Type       string          `json:"type"`
	Details    map[string]any  `json:"details"`
	Error      json.RawMessage `json:"error"`
	EnqueuedAt string          `json:"enqueuedAt"`
	StartedAt  string          `json:"startedAt"`
	FinishedAt string          `json:"finishedAt"`
	Duration   string          `json:"duration"`
}

// writeState is the shard server's write-side state.
type writeState struct {
	mu       sync.Mutex
	tasks    []meiliTask
	settings map[string]json.RawMessage
}

func (s *Server) writeRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /_bulk", s.esBulk)
	m.HandleFunc("POST /{index}/_bulk", s.esBulk)
	m.HandleFunc("PUT /_bulk", s.esBulk)
	m.HandleFunc("PUT /{index}/_bulk", s.esBulk)
	// /{index}/_doc/{id} and /indexes/{uid}/documents overlap as
	// patterns: one handler tells them apart.
	m.HandleFunc("PUT /{a}/{b}/{c}", s.put3)
	m.HandleFunc("DELETE /{a}/{b}/{c}", s.put3)
	m.HandleFunc("POST /{index}/_delete_by_query", s.esDeleteByQuery)
	m.HandleFunc("PUT /{index}", s.esIndexAdmin)
	m.HandleFunc("DELETE /{index}", s.esIndexAdmin)
	m.HandleFunc("POST /indexes/{uid}/documents", s.meiliDocuments)
	m.HandleFunc("DELETE /indexes/{uid}/documents/{id}", s.meiliDeleteOne)
	m.HandleFunc("POST /indexes/{uid}/documents/delete-batch", s.meiliDeleteBatch)
	m.HandleFunc("POST /indexes/{uid}/documents/delete", s.meiliDeleteFilter)
	m.HandleFunc("PATCH /indexes/{uid}/settings", s.meiliSettings)
	m.HandleFunc("GET /indexes/{uid}/settings", s.meiliGetSettings)
}

// withTasks serves GET /tasks/{uid} before m: as a pattern it overlaps
// GET /{index}/_search.
func (s *Server) withTasks(m http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if uid, ok := strings.CutPrefix(r.URL.Path, "/tasks/"); ok && r.Method == http.MethodGet && !strings.Contains(uid, "/") {
			r.SetPathValue("uid", uid)
			s.meiliTask(w, r)
			return
		}
		m.ServeHTTP(w, r)
	})
}

// put3 serves PUT and DELETE of three-segment paths.
func (s *Server) put3(w http.ResponseWriter, r *http.Request) {
	a, b, c := r.PathValue("a"), r.PathValue("b"), r.PathValue("c")
	switch {
	case a == "indexes" && c == "documents":
		r.SetPathValue("uid", b)
		if r.Method == http.MethodDelete {
			s.meiliDeleteAll(w, r)
		} else {
			s.meiliDocuments(w, r)
		}
	case b == "_doc":
		r.SetPathValue("index", a)
		r.SetPathValue("id", c)
		s.esDoc(w, r)
	default:
		http.NotFound(w, r)
	}
}

// task records a finished Meilisearch task and answers its summary.
func (s *Server) task(w http.ResponseWriter, typ string, details map[string]any, err error) {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	s.writes.mu.Lock()
	t := meiliTask{UID: len(s.writes.tasks), IndexUID: s.index, Status: "succeeded", Type: typ, Details: details,
		Error: json.RawMessage("null"), EnqueuedAt: now, StartedAt: now, FinishedAt: now, Duration: "PT0S"}
	if err != nil {
		t.Status, t.Error = "failed", MeiliError("internal", "internal", err.Error())
	}
	s.writes.tasks = append(s.writes.tasks, t)
	s.writes.mu.Unlock()
	writeJSON(w, http.StatusAccepted, fmt.Appendf(nil, `{"taskUid":%d,"indexUid":%q,"status":"enqueued","type":%q,"enqueuedAt":%q}`,
		t.UID, s.index, typ, now))
}

func (s *Server) meiliTask(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("uid"))
	s.writes.mu.Lock()
	defer s.writes.mu.Unlock()
	if err != nil || n < 0 || n >= len(s.writes.tasks) {
		writeJSON(w, 404, MeiliError("task_not_found", "invalid_request", "Task `"+r.PathValue("uid")+"` not found."))
		return
	}
	b, _ := json.Marshal(s.writes.tasks[n])
	writeJSON(w, 200, b)
}

// meiliIndexOK answers index_not_found for another index; false then.
func (s *Server) meiliIndexOK(w http.ResponseWriter, r *http.Request) bool {
	if uid := r.PathValue("uid"); uid != s.index {
		writeJSON(w, 404, MeiliError("index_not_found", "invalid_request", "Index `"+uid+"` not found."))
		return false
	}
	return true
}

// meiliArray reads a Meilisearch write whose body is a JSON array (documents
// or ids) for an index this server holds; it answers the error itself.
func (s *Server) meiliArray(w http.ResponseWriter, r *http.Request) ([]json.RawMessage, bool) {
	body, ok := readBody(w, r)
	if !ok || !s.meiliIndexOK(w, r) {
		return nil, false
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		writeJSON(w, 400, MeiliError("malformed_payload", "invalid_request", err.Error()))
		return nil, false
	}
	return raw, true
}

func (s *Server) meiliDocuments(w http.ResponseWriter, r *http.Request) {
	raw, ok := s.meiliArray(w, r)
	if !ok {
		return
	}
	docs := make([]Doc, len(raw))
	for i, src := range raw {
		docs[i] = Doc{ID: DocID(src, s.idField), Source: src}
		if r.Method == http.MethodPut {
			docs[i].Source = s.merged(docs[i].ID, src)
		}
	}
	err := s.b.Index(r.Context(), docs)
	s.task(w, "documentAdditionOrUpdate", map[string]any{"receivedDocuments": len(docs), "indexedDocuments": len(docs)}, err)
}

// merged is src laid over the stored document with the same id.
func (s *Server) merged(id string, src json.RawMessage) json.RawMessage {
	sc, ok := s.b.(Sourcer)
	if !ok {
		return src
	}
	old, ok := sc.Source(id)
	if !ok {
		return src
	}
	var base, patch map[string]json.RawMessage
	if json.Unmarshal(old, &base) != nil || json.Unmarshal(src, &patch) != nil {
		return src
	}
	for k, v := range patch {
		base[k] = v
	}
	b, _ := json.Marshal(base)
	return b
}

func (s *Server) deleteIDs(ctx context.Context, ids []string) error {
	d, ok := s.b.(Deleter)
	if !ok {
		return fmt.Errorf("this backend cannot delete")
	}
	return d.Delete(ctx, ids)
}

func (s *Server) meiliDeleteOne(w http.ResponseWriter, r *http.Request) {
	if !s.meiliIndexOK(w, r) {
		return
	}
	err := s.deleteIDs(r.Context(), []string{r.PathValue("id")})
	s.task(w, "documentDeletion", map[string]any{"providedIds": 1, "deletedDocuments": 1}, err)
}

func (s *Server) meiliDeleteBatch(w http.ResponseWriter, r *http.Request) {
	raw, ok := s.meiliArray(w, r)
	if !ok {
		return
	}
	ids := make([]string, len(raw))
	for i, v := range raw {
		ids[i] = scalar(v)
	}
	err := s.deleteIDs(r.Context(), ids)
	s.task(w, "documentDeletion", map[string]any{"providedIds": len(ids), "deletedDocuments": len(ids)}, err)
}

// scalar is a JSON string's value or a number's literal.
func scalar(v json.RawMessage) string {
	var str string
	if json.Unmarshal(v, &str) == nil {
		return str
	}
	return string(bytes.TrimSpace(v))
}

// matching lists the ids of every document q matches.
func (s *Server) matching(ctx context.Context, q *Query) ([]string, error) {
	n, err := s.b.Count(ctx)
	if err != nil {
		return nil, err
	}
	q.From, q.Size = 0, n+1
	res, err := s.b.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		ids[i] = h.ID
	}
	return ids, nil
}

func (s *Server) meiliDeleteFilter(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok || !s.meiliIndexOK(w, r) {
		return
	}
	var req struct {
		Filter json.RawMessage `json:"filter"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Filter) == 0 {
		writeJSON(w, 400, MeiliError("missing_document_filter", "invalid_request", "Missing field `filter`"))
		return
	}
	filters, err := parseMeiliFilter(req.Filter)
	if err != nil {
		writeJSON(w, 400, MeiliError("invalid_document_filter", "invalid_request", err.Error()))
		return
	}
	ids, err := s.matching(r.Context(), &Query{MatchAll: true, Filters: filters})
	if err == nil {
		err = s.deleteIDs(r.Context(), ids)
	}
	s.task(w, "documentDeletion", map[string]any{"originalFilter": string(req.Filter), "deletedDocuments": len(ids)}, err)
}

func (s *Server) meiliDeleteAll(w http.ResponseWriter, r *http.Request) {
	if !s.meiliIndexOK(w, r) {
		return
	}
	ids, err := s.matching(r.Context(), &Query{MatchAll: true})
	if err == nil {
		err = s.deleteIDs(r.Context(), ids)
	}
	s.task(w, "documentDeletion", map[string]any{"deletedDocuments": len(ids)}, err)
}

func (s *Server) meiliSettings(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok || !s.meiliIndexOK(w, r) {
		return
	}
	var patch map[string]json.RawMessage
	if err := json.Unmarshal(body, &patch); err != nil {
		writeJSON(w, 400, MeiliError("bad_request", "invalid_request", err.Error()))
		return
	}
	s.writes.mu.Lock()
	if s.writes.settings == nil {
		s.writes.settings = map[string]json.RawMessage{}
	}
	for k, v := range patch {
		s.writes.settings[k] = v
	}
	s.writes.mu.Unlock()
	s.task(w, "settingsUpdate", map[string]any{}, nil)
}

func (s *Server) meiliGetSettings(w http.ResponseWriter, r *http.Request) {
	if !s.meiliIndexOK(w, r) {
		return
	}
	s.writes.mu.Lock()
	b, _ := json.Marshal(s.writes.settings)
	s.writes.mu.Unlock()
	if string(b) == "null" {
		b = []byte("{}")
	}
	writeJSON(w, 200, b)
}

// esDoc indexes, creates or deletes one document.
func (s *Server) esDoc(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if r.Method == http.MethodDelete {
		if err := s.deleteIDs(r.Context(), []string{id}); err != nil {
			writeJSON(w, 500, ESError(500, "exception", err.Error()))
			return
		}
		writeJSON(w, 200, fmt.Appendf(nil, `{"_index":%q,"_id":%q,"result":"deleted","_shards":{"total":1,"successful":1,"failed":0}}`, s.index, id))
		return
	}
	if !json.Valid(body) {
		writeJSON(w, 400, ESError(400, "mapper_parsing_exception", "failed to parse"))
		return
	}
	if err := s.b.Index(r.Context(), []Doc{{ID: id, Source: body}}); err != nil {
		writeJSON(w, 500, ESError(500, "exception", err.Error()))
		return
	}
	writeJSON(w, 201, fmt.Appendf(nil, `{"_index":%q,"_id":%q,"result":"created","_shards":{"total":1,"successful":1,"failed":0}}`, s.index, id))
}

// esBulk applies index, create, update and delete actions (NDJSON) and
// answers one item per action, in order.
func (s *Server) esBulk(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	type op struct {
		action, id string
		src        json.RawMessage
	}
	var ops []op
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), maxBody)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var action map[string]struct {
			ID string `json:"_id"`
		}
		if err := json.Unmarshal(line, &action); err != nil || len(action) != 1 {
			writeJSON(w, 400, ESError(400, "illegal_argument_exception", "malformed action line"))
			return
		}
		var o op
		for a, meta := range action {
			o.action, o.id = a, meta.ID
		}
		switch o.action {
		case "index", "create", "update":
			if !sc.Scan() {
				writeJSON(w, 400, ESError(400, "illegal_argument_exception", "action without source"))
				return
			}
			o.src = bytes.Clone(sc.Bytes())
		case "delete":
		default:
			writeJSON(w, 400, ESError(400, "illegal_argument_exception", "unsupported bulk action "+o.action))
			return
		}
		if o.id == "" && o.src != nil {
			o.id = DocID(o.src, s.idField)
		}
		ops = append(ops, o)
	}
	start := time.Now()
	var docs []Doc
	var dels []string
	items := make([]json.RawMessage, len(ops))
	for i, o := range ops {
		status, result := 201, "created"
		switch o.action {
		case "delete":
			dels = append(dels, o.id)
			status, result = 200, "deleted"
		case "update":
			var u struct {
				Doc json.RawMessage `json:"doc"`
			}
			json.Unmarshal(o.src, &u)
			docs = append(docs, Doc{ID: o.id, Source: s.merged(o.id, u.Doc)})
			status, result = 200, "updated"
		default:
			docs = append(docs, Doc{ID: o.id, Source: o.src})
		}
		items[i] = fmt.Appendf(nil, `{%q:{"_index":%q,"_id":%q,"_version":1,"result":%q,"status":%d,"_shards":{"total":1,"successful":1,"failed":0}}}`,
			o.action, s.index, o.id, result, status)
	}
	if len(docs) > 0 {
		if err := s.b.Index(r.Context(), docs); err != nil {
			writeJSON(w, 500, ESError(500, "exception", err.Error()))
			return
		}
	}
	if len(dels) > 0 {
		if err := s.deleteIDs(r.Context(), dels); err != nil {
			writeJSON(w, 500, ESError(500, "exception", err.Error()))
			return
		}
	}
	out, _ := json.Marshal(map[string]any{"took": time.Since(start).Milliseconds(), "errors": false, "items": items})
	writeJSON(w, 200, out)
}

func (s *Server) esDeleteByQuery(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	q, err := ParseES(body)
	if err != nil {
		writeJSON(w, 400, ESError(400, "parsing_exception", err.Error()))
		return
	}
	start := time.Now()
	ids, err := s.matching(r.Context(), q)
	if err == nil {
		err = s.deleteIDs(r.Context(), ids)
	}
	if err != nil {
		writeJSON(w, 500, ESError(500, "exception", err.Error()))
		return
	}
	writeJSON(w, 200, fmt.Appendf(nil, `{"took":%d,"timed_out":false,"total":%d,"deleted":%d,"batches":1,"version_conflicts":0,"noops":0,"failures":[]}`,
		time.Since(start).Milliseconds(), len(ids), len(ids)))
}

// esIndexAdmin acknowledges index creation; deletion empties the index.
func (s *Server) esIndexAdmin(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodDelete {
		ids, err := s.matching(r.Context(), &Query{MatchAll: true})
		if err == nil {
			err = s.deleteIDs(r.Context(), ids)
		}
		if err != nil {
			writeJSON(w, 500, ESError(500, "exception", err.Error()))
			return
		}
		writeJSON(w, 200, []byte(`{"acknowledged":true}`))
		return
	}
	writeJSON(w, 200, fmt.Appendf(nil, `{"acknowledged":true,"shards_acknowledged":true,"index":%q}`, r.PathValue("index")))
}
