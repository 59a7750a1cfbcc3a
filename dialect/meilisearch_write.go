package dialect

// meilisearch_write.go is the Meilisearch write API
// (https://www.meilisearch.com/docs/reference/api/documents, settings,
// indexes, tasks): which endpoints write, how documents are cut into
// per-shard batches, how a shard's task summary reads, and the task object
// federate answers with.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Meilisearch task types federate reports.
const (
	meiliDocAdd      = "documentAdditionOrUpdate"
	meiliDocDelete   = "documentDeletion"
	meiliSettings    = "settingsUpdate"
	meiliIndexCreate = "indexCreation"
	meiliIndexDelete = "indexDeletion"
	meiliIndexUpdate = "indexUpdate"
)

// How a routed Meilisearch write is rebuilt for one shard.
const (
	batchDocs   = "docs"   // a JSON array of the shard's documents
	batchIDs    = "ids"    // a JSON array of the shard's ids (delete-batch)
	batchAsIs   = "as-is"  // the client's request (one id in the path)
	batchCreate = "create" // POST /indexes: the body's uid is the shard's index
)

// DecodeWrite reads the Meilisearch write endpoints; searches, document
// reads and everything else are nil, nil.
func (meilisearch) DecodeWrite(r *http.Request, body []byte, idField string) (*Write, error) {
	segs := pathSegments(r.URL.Path)
	at := -1
	for i, s := range segs {
		if s == "indexes" || s == "tasks" {
			at = i
			break
		}
	}
	if at < 0 {
		return nil, nil
	}
	prefix := "/" + strings.Join(segs[:at+1], "/") + "/"
	segs = segs[at:]
	w := &Write{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Body: body,
		ContentType: r.Header.Get("Content-Type")}
	if segs[0] == "tasks" {
		return decodeMeiliTasks(r, w, segs)
	}
	if len(segs) == 1 {
		if r.Method != http.MethodPost {
			return nil, nil
		}
		var spec struct {
			UID string `json:"uid"`
		}
		if err := json.Unmarshal(body, &spec); err != nil || spec.UID == "" {
			return nil, meiliError("bad_request", "an index creation needs a JSON body with a `uid`")
		}
		w.Kind, w.Type, w.Index, w.batch = WriteAll, meiliIndexCreate, spec.UID, batchCreate
		return w, nil
	}
	uid, err := url.PathUnescape(segs[1])
	if err != nil || uid == "" {
		return nil, meiliError("invalid_index_uid", "the index uid in the path is not valid")
	}
	w.Index, w.indexAt = uid, len(prefix)
	if !strings.HasPrefix(w.Path, prefix+uid) {
		w.indexAt = 0 // escaped in the path: keep the client's path
	}
	rest := segs[2:]
	switch {
	case len(rest) == 0:
		switch r.Method {
		case http.MethodDelete:
			w.Kind, w.Type = WriteAll, meiliIndexDelete
		case http.MethodPatch:
			w.Kind, w.Type = WriteAll, meiliIndexUpdate
		default:
			return nil, nil
		}
	case rest[0] == "settings":
		if r.Method == http.MethodGet {
			return nil, nil
		}
		w.Kind, w.Type = WriteAll, meiliSettings
	case rest[0] == "documents":
		return decodeMeiliDocuments(r, w, rest[1:], body, idField)
	default:
		return nil, nil
	}
	return w, nil
}

func decodeMeiliTasks(r *http.Request, w *Write, segs []string) (*Write, error) {
	if r.Method != http.MethodGet {
		return nil, nil
	}
	switch len(segs) {
	case 1:
		w.Kind, w.Params = WriteTaskList, r.URL.Query()
		return w, nil
	case 2:
		n, err := strconv.ParseInt(segs[1], 10, 64)
		if err != nil || n < 0 {
			return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_task_uid", Type: "invalid_request",
				Message: "Invalid value in parameter `taskUid`: could not parse `" + segs[1] + "` as a positive integer"}
		}
		w.Kind, w.TaskUID = WriteTaskGet, n
		return w, nil
	}
	return nil, nil
}

// decodeMeiliDocuments reads /indexes/{uid}/documents[/...] writes.
func decodeMeiliDocuments(r *http.Request, w *Write, rest []string, body []byte, idField string) (*Write, error) {
	if pk := r.URL.Query().Get("primaryKey"); pk != "" {
		idField = pk
	}
	if idField == "" {
		idField = "id"
	}
	switch {
	case len(rest) == 0 && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		w.Kind, w.Type, w.batch = WriteRouted, meiliDocAdd, batchDocs
		docs, err := meiliDocuments(body, w.ContentType)
		if err != nil {
			return nil, err
		}
		w.Items = make([]WriteItem, len(docs))
		for i, d := range docs {
			w.Items[i] = WriteItem{Doc: d}
			raw, ok := member(d, idField)
			if !ok {
				return nil, meiliError("missing_document_id", "Document #"+strconv.Itoa(i)+" has no `"+idField+
					"` field: federate places documents by their id; give every document one, or name the primary key with `?primaryKey=` or `writes route <field>`")
			}
			id, ok := canonicalID(raw)
			if !ok {
				return nil, meiliError("invalid_document_id", "Document #"+strconv.Itoa(i)+" has an invalid `"+idField+
					"`: a document identifier is a string or an integer")
			}
			w.Items[i].ID = id
		}
		// Meilisearch reads NDJSON and arrays alike; shards get arrays.
		w.ContentType = "application/json"
	case len(rest) == 0 && r.Method == http.MethodDelete:
		w.Kind, w.Type = WriteAll, meiliDocDelete
	case len(rest) == 1 && rest[0] == "delete-batch" && r.Method == http.MethodPost:
		var ids []json.RawMessage
		if err := json.Unmarshal(body, &ids); err != nil {
			return nil, meiliError("malformed_payload", "delete-batch takes a JSON array of document ids: "+err.Error())
		}
		w.Kind, w.Type, w.batch = WriteRouted, meiliDocDelete, batchIDs
		w.Items = make([]WriteItem, len(ids))
		for i, raw := range ids {
			id, ok := canonicalID(raw)
			if !ok {
				return nil, meiliError("invalid_document_id", "id #"+strconv.Itoa(i)+" is not a string or an integer")
			}
			w.Items[i] = WriteItem{ID: id, Doc: raw, Action: "delete"}
		}
	case len(rest) == 1 && rest[0] == "delete" && r.Method == http.MethodPost:
		w.Kind, w.Type = WriteAll, meiliDocDelete
	case len(rest) == 1 && r.Method == http.MethodDelete:
		id, err := url.PathUnescape(rest[0])
		if err != nil || id == "" {
			return nil, meiliError("invalid_document_id", "the document id in the path is not valid")
		}
		w.Kind, w.Type, w.batch = WriteRouted, meiliDocDelete, batchAsIs
		w.Items = []WriteItem{{ID: id, Action: "delete"}}
	default:
		return nil, nil
	}
	return w, nil
}

// meiliDocuments splits a documents payload: a JSON array, one object,
// or NDJSON.
func meiliDocuments(body []byte, contentType string) ([][]byte, error) {
	body = bytes.TrimSpace(body)
	ct, _, _ := strings.Cut(contentType, ";")
	switch strings.TrimSpace(ct) {
	case "", "application/json":
		if len(body) > 0 && body[0] == '{' {
			if !json.Valid(body) {
				return nil, meiliError("malformed_payload", "The `json` payload provided is malformed.")
			}
			return [][]byte{body}, nil
		}
		var docs []json.RawMessage
		if err := json.Unmarshal(body, &docs); err != nil {
			return nil, meiliError("malformed_payload", "The `json` payload provided is malformed: "+err.Error())
		}
		out := make([][]byte, len(docs))
		for i, d := range docs {
			if !isObject(d) {
				return nil, meiliError("malformed_payload", "Document #"+strconv.Itoa(i)+" is not a JSON object")
			}
			out[i] = d
		}
		return out, nil
	case "application/x-ndjson":
		var out [][]byte
		for i, line := range bytes.Split(body, []byte("\n")) {
			line = bytes.TrimSpace(line)
			if len(line) == 0 {
				continue
			}
			if !isObject(line) || !json.Valid(line) {
				return nil, meiliError("malformed_payload", "The `ndjson` payload provided is malformed at line "+strconv.Itoa(i+1)+".")
			}
			out = append(out, line)
		}
		return out, nil
	}
	return nil, &Error{Status: http.StatusUnsupportedMediaType, Code: "invalid_content_type", Type: "invalid_request",
		Message: "The Content-Type `" + contentType + "` is not routed by federate: send documents as application/json or application/x-ndjson"}
}

// BuildWrite builds one shard's part of a Meilisearch write.
func (meilisearch) BuildWrite(w *Write, items []int, index string) *Request {
	req := &Request{Method: w.Method, Path: w.PathFor(index), RawQuery: w.RawQuery, Body: w.Body, ContentType: w.ContentType}
	switch w.batch {
	case batchDocs, batchIDs:
		vals := make([][]byte, len(items))
		for i, at := range items {
			vals[i] = w.Items[at].Doc
		}
		req.Body, req.ContentType = jsonArray(vals), "application/json"
	case batchCreate:
		if index != "" {
			if obj, ok := rawObject(w.Body); ok {
				obj["uid"], _ = json.Marshal(index)
				req.Body, _ = json.Marshal(obj)
			}
		}
	}
	return req
}

// DecodePart reads a shard's task summary: 202 with a taskUid.
func (meilisearch) DecodePart(w *Write, n int, status int, body []byte) PartAnswer {
	pa := PartAnswer{Status: status, TaskUID: -1, Body: body}
	if status < 200 || status > 299 {
		pa.Reason = "answered " + strconv.Itoa(status) + messageOf(body)
		return pa
	}
	pa.TaskUID = taskUIDOf(body, "taskUid")
	if pa.TaskUID < 0 {
		pa.Reason = "answered without a taskUid"
		return pa
	}
	pa.OK = true
	return pa
}

// messageOf is ": <message>" of an error body with a top-level message
// (Meilisearch, Typesense), or "".
func messageOf(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil || e.Message == "" {
		return ""
	}
	return ": " + oneLineText(e.Message)
}

func oneLineText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// MeiliTask is a Meilisearch task object
// (https://www.meilisearch.com/docs/reference/api/tasks#task-object).
type MeiliTask struct {
	UID        int64           `json:"uid"`
	BatchUID   *int64          `json:"batchUid"`
	IndexUID   *string         `json:"indexUid"`
	Status     string          `json:"status"`
	Type       string          `json:"type"`
	CanceledBy *int64          `json:"canceledBy"`
	Details    json.RawMessage `json:"details"`
	Error      *MeiliTaskError `json:"error"`
	Duration   *string         `json:"duration"`
	EnqueuedAt string          `json:"enqueuedAt"`
	StartedAt  *string         `json:"startedAt"`
	FinishedAt *string         `json:"finishedAt"`
}

// MeiliTaskError is a failed task's error object.
type MeiliTaskError struct {
	Message string `json:"message"`
	Code    string `json:"code"`
	Type    string `json:"type"`
	Link    string `json:"link"`
}

// MeiliTaskSummary is the answer to an enqueued write.
type MeiliTaskSummary struct {
	TaskUID    int64  `json:"taskUid"`
	IndexUID   string `json:"indexUid"`
	Status     string `json:"status"`
	Type       string `json:"type"`
	EnqueuedAt string `json:"enqueuedAt"`
}

// MeiliTime formats t as Meilisearch does (RFC 3339, UTC).
func MeiliTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// MeiliDuration formats d as an ISO 8601 duration, as task durations are.
func MeiliDuration(d time.Duration) string {
	return "PT" + strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S"
}

// MeiliPartTask reads a shard's GET /tasks/{uid} answer: its status, error
// and details.
func MeiliPartTask(body []byte) (status string, terr *MeiliTaskError, details json.RawMessage, ok bool) {
	var t struct {
		Status  string          `json:"status"`
		Error   *MeiliTaskError `json:"error"`
		Details json.RawMessage `json:"details"`
	}
	if json.Unmarshal(body, &t) != nil || t.Status == "" {
		return "", nil, nil, false
	}
	return t.Status, t.Error, t.Details, true
}

// MeiliTaskNotFound is Meilisearch's 404 for an unknown task.
func MeiliTaskNotFound(uid int64) *Error {
	return &Error{Status: http.StatusNotFound, Code: "task_not_found", Type: "invalid_request",
		Message: "Task `" + strconv.FormatInt(uid, 10) + "` not found."}
}
