package dialect

// elasticsearch_write.go is the Elasticsearch/OpenSearch write API: _bulk
// (NDJSON action and source lines), single documents (_doc, _create,
// _update), _delete_by_query, index creation, deletion, settings,
// mappings and _refresh.

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Elasticsearch write types (Write.Type).
const (
	esBulk          = "bulk"
	esDocument      = "document"
	esDeleteByQuery = "delete_by_query"
	esIndexAdmin    = "index"
)

// esBulkActions are the _bulk actions and whether a source line follows.
var esBulkActions = map[string]bool{"index": true, "create": true, "update": true, "delete": false}

// DecodeWrite reads the Elasticsearch write endpoints; searches, counts
// and reads are nil, nil.
func (d esDialect) DecodeWrite(r *http.Request, body []byte, idField string) (*Write, error) {
	segs := pathSegments(r.URL.Path)
	w := &Write{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Body: body,
		ContentType: r.Header.Get("Content-Type")}
	if len(segs) == 0 {
		return nil, nil
	}
	if segs[0] == "_bulk" && len(segs) == 1 {
		return decodeESBulk(w, "", body)
	}
	if segs[0] == "_refresh" && len(segs) == 1 && r.Method == http.MethodPost {
		w.Kind, w.Type = WriteAll, esIndexAdmin
		return w, nil
	}
	if segs[0] == "" || segs[0][0] == '_' {
		return nil, nil
	}
	idx, err := url.PathUnescape(segs[0])
	if err != nil || idx == "" {
		return nil, esIllegal("the index name in the path is not valid")
	}
	w.Index = idx
	if strings.HasPrefix(w.Path, "/"+idx) {
		w.indexAt = 1
	}
	rest := segs[1:]
	switch {
	case len(rest) == 0:
		if r.Method != http.MethodPut && r.Method != http.MethodDelete {
			return nil, nil
		}
		w.Kind, w.Type = WriteAll, esIndexAdmin
	case rest[0] == "_bulk" && len(rest) == 1:
		return decodeESBulk(w, idx, body)
	case rest[0] == "_delete_by_query" && len(rest) == 1 && r.Method == http.MethodPost:
		w.Kind, w.Type = WriteAll, esDeleteByQuery
	case (rest[0] == "_settings" || rest[0] == "_mapping") && len(rest) == 1 && r.Method == http.MethodPut,
		rest[0] == "_refresh" && len(rest) == 1 && r.Method == http.MethodPost:
		w.Kind, w.Type = WriteAll, esIndexAdmin
	case rest[0] == "_doc" && len(rest) == 1 && r.Method == http.MethodPost:
		// An id Elasticsearch would generate: generated here, so the
		// document can be placed.
		id := newESID()
		w.Path = strings.TrimSuffix(w.Path, "/") + "/" + id
		w.Method = http.MethodPut
		w.Kind, w.Type, w.batch = WriteRouted, esDocument, batchAsIs
		w.Items = []WriteItem{{ID: id, Action: "index", Doc: body}}
	case (rest[0] == "_doc" || rest[0] == "_create" || rest[0] == "_update") && len(rest) == 2:
		id, err := url.PathUnescape(rest[1])
		if err != nil || id == "" {
			return nil, esIllegal("the document id in the path is not valid")
		}
		action := map[string]string{"_doc": "index", "_create": "create", "_update": "update"}[rest[0]]
		switch {
		case r.Method == http.MethodDelete && rest[0] == "_doc":
			action = "delete"
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			return nil, nil
		case r.Method != http.MethodPut && r.Method != http.MethodPost:
			return nil, nil
		}
		w.Kind, w.Type, w.batch = WriteRouted, esDocument, batchAsIs
		w.Items = []WriteItem{{ID: id, Action: action, Doc: body}}
	default:
		return nil, nil
	}
	return w, nil
}

// decodeESBulk splits a _bulk body into items; defIndex is the path's.
func decodeESBulk(w *Write, defIndex string, body []byte) (*Write, error) {
	if w.Method != http.MethodPost && w.Method != http.MethodPut {
		return nil, nil
	}
	w.Kind, w.Type, w.batch = WriteRouted, esBulk, batchDocs
	lines := bytes.Split(body, []byte("\n"))
	for i := 0; i < len(lines); i++ {
		line := bytes.TrimSpace(lines[i])
		if len(line) == 0 {
			continue
		}
		var action map[string]map[string]any
		if err := json.Unmarshal(line, &action); err != nil || len(action) != 1 {
			return nil, esIllegal("Malformed action/metadata line [" + strconv.Itoa(i+1) + "], expected a single action object")
		}
		it := WriteItem{}
		var meta map[string]any
		for op, m := range action {
			it.Action, meta = op, m
		}
		hasSource, known := esBulkActions[it.Action]
		if !known {
			return nil, esIllegal("Malformed action/metadata line [" + strconv.Itoa(i+1) + "], expected one of [create, delete, index, update] but found [" + it.Action + "]")
		}
		if meta == nil {
			meta = map[string]any{}
		}
		if hasSource {
			i++
			for i < len(lines) && len(bytes.TrimSpace(lines[i])) == 0 {
				i++
			}
			if i >= len(lines) || !json.Valid(bytes.TrimSpace(lines[i])) {
				return nil, esIllegal("The bulk request must be terminated by a newline [\\n], and every " + it.Action + " action needs a JSON source line")
			}
			it.Doc = bytes.TrimSpace(lines[i])
		}
		if _, ok := meta["_index"]; !ok && defIndex == "" {
			it.Err = &Error{Status: http.StatusBadRequest, Code: "action_request_validation_exception", Type: "invalid_request",
				Message: "Validation Failed: 1: index is missing;"}
		}
		switch id := meta["_id"].(type) {
		case string:
			it.ID = id
		case float64:
			it.ID = strconv.FormatFloat(id, 'f', -1, 64)
		case nil:
			if it.Action == "index" || it.Action == "create" {
				it.ID = newESID()
				meta["_id"] = it.ID
			} else if it.Err == nil {
				it.Err = &Error{Status: http.StatusBadRequest, Code: "action_request_validation_exception", Type: "invalid_request",
					Message: "Validation Failed: 1: id is missing;"}
			}
		}
		it.Meta, _ = json.Marshal(map[string]any{it.Action: meta})
		w.Items = append(w.Items, it)
	}
	w.ContentType = "application/x-ndjson"
	return w, nil
}

// newESID is a random 20-character id, as Elasticsearch generates.
func newESID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// esBulkMeta is an item's action line with its _index set to index.
func esBulkMeta(it *WriteItem, index string) []byte {
	if index == "" {
		return it.Meta
	}
	var action map[string]map[string]any
	if json.Unmarshal(it.Meta, &action) != nil {
		return it.Meta
	}
	for _, m := range action {
		if _, ok := m["_index"]; ok {
			m["_index"] = index
		}
	}
	b, _ := json.Marshal(action)
	return b
}

// BuildWrite builds one shard's part of an Elasticsearch write.
func (esDialect) BuildWrite(w *Write, items []int, index string) *Request {
	req := &Request{Method: w.Method, Path: w.PathFor(index), RawQuery: w.RawQuery, Body: w.Body, ContentType: w.ContentType}
	if w.batch == batchDocs {
		var b bytes.Buffer
		for _, at := range items {
			it := &w.Items[at]
			b.Write(esBulkMeta(it, index))
			b.WriteByte('\n')
			if it.Doc != nil {
				b.Write(it.Doc)
				b.WriteByte('\n')
			}
		}
		req.Body, req.ContentType = b.Bytes(), "application/x-ndjson"
	}
	return req
}

// DecodePart reads a shard's answer: a _bulk answer's items, or any 2xx.
func (esDialect) DecodePart(w *Write, n int, status int, body []byte) PartAnswer {
	pa := PartAnswer{Status: status, TaskUID: -1, Body: body}
	if status < 200 || status > 299 {
		if w.batch == batchAsIs && (status == http.StatusNotFound || status == http.StatusConflict) {
			pa.OK = true // the engine's own answer for this document
			return pa
		}
		pa.Reason = "answered " + strconv.Itoa(status) + esReason(body)
		return pa
	}
	if w.batch != batchDocs {
		pa.OK = true
		return pa
	}
	raw, ok := member(body, "items")
	if !ok {
		pa.Reason = "answered a _bulk without items"
		return pa
	}
	_ = eachElement(raw, func(v []byte) bool {
		pa.Items = append(pa.Items, json.RawMessage(v))
		return true
	})
	if len(pa.Items) != n {
		pa.Reason = "answered " + strconv.Itoa(len(pa.Items)) + " _bulk items for " + strconv.Itoa(n)
		return pa
	}
	pa.OK = true
	return pa
}

// esReason is ": <reason>" of an Elasticsearch error body, or "".
func esReason(body []byte) string {
	var e struct {
		Error struct {
			Reason string `json:"reason"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Reason == "" {
		return ""
	}
	return ": " + oneLineText(e.Error.Reason)
}

// ESBulkItem is one item of a _bulk answer: its action, index, id, status
// and either the shard's own item or an error.
func ESBulkItem(action, index, id string, status int, errType, reason string) []byte {
	b, _ := json.Marshal(map[string]any{action: map[string]any{"_index": index, "_id": id, "status": status,
		"error": map[string]any{"type": errType, "reason": reason}}})
	return b
}

// ItemStatus reads the status of a _bulk answer item ({action: {status}}).
func ItemStatus(item []byte) int {
	var m map[string]struct {
		Status int `json:"status"`
	}
	if json.Unmarshal(item, &m) != nil {
		return 0
	}
	for _, v := range m {
		return v.Status
	}
	return 0
}
