package dialect

// typesense_write.go is the Typesense write API: documents/import (JSONL
// in, one result line per document out, in order), single documents
// (create, upsert, update, delete), delete by filter, and collection
// creation, update and deletion.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Typesense write types (Write.Type).
const (
	tsImport     = "import"
	tsDocument   = "document"
	tsDeleteBy   = "delete_by_filter"
	tsCollection = "collection"
)

// DecodeWrite reads the Typesense write endpoints; nil, nil for searches
// and reads.
func (typesense) DecodeWrite(r *http.Request, body []byte, idField string) (*Write, error) {
	segs := pathSegments(r.URL.Path)
	if len(segs) == 0 || segs[0] != "collections" {
		return nil, nil
	}
	w := &Write{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Body: body,
		ContentType: r.Header.Get("Content-Type")}
	if len(segs) == 1 {
		if r.Method != http.MethodPost {
			return nil, nil
		}
		w.Kind, w.Type = WriteAll, tsCollection
		return w, nil
	}
	name, err := url.PathUnescape(segs[1])
	if err != nil || name == "" {
		return nil, tsError(http.StatusBadRequest, "the collection name in the path is not valid")
	}
	w.Index = name
	if strings.HasPrefix(w.Path, "/collections/"+name) {
		w.indexAt = len("/collections/")
	}
	rest := segs[2:]
	switch {
	case len(rest) == 0 && (r.Method == http.MethodDelete || r.Method == http.MethodPatch):
		w.Kind, w.Type = WriteAll, tsCollection
	case len(rest) == 1 && rest[0] == "documents" && r.Method == http.MethodDelete:
		w.Kind, w.Type = WriteAll, tsDeleteBy
	case len(rest) == 1 && rest[0] == "documents" && r.Method == http.MethodPost:
		doc := bytes.TrimSpace(body)
		it, err := tsItem(doc, 0)
		if err != nil {
			return nil, err
		}
		w.Kind, w.Type, w.batch = WriteRouted, tsDocument, batchAsIs
		w.Items = []WriteItem{it}
		w.Body = it.Doc
	case len(rest) == 2 && rest[0] == "documents" && rest[1] == "import" && r.Method == http.MethodPost:
		w.Kind, w.Type, w.batch = WriteRouted, tsImport, batchDocs
		for i, line := range bytes.Split(body, []byte("\n")) {
			line = bytes.TrimSpace(line)
			if len(line) == 0 {
				continue
			}
			it, err := tsItem(line, i)
			if err != nil {
				// Typesense reports a bad line in its result line.
				it = WriteItem{Doc: line, Err: err.(*Error)}
			}
			w.Items = append(w.Items, it)
		}
		w.ContentType = "text/plain"
	case len(rest) == 2 && rest[0] == "documents" && (r.Method == http.MethodDelete || r.Method == http.MethodPatch):
		id, err := url.PathUnescape(rest[1])
		if err != nil || id == "" {
			return nil, tsError(http.StatusBadRequest, "the document id in the path is not valid")
		}
		w.Kind, w.Type, w.batch = WriteRouted, tsDocument, batchAsIs
		w.Items = []WriteItem{{ID: id, Action: strings.ToLower(r.Method), Doc: body}}
	default:
		return nil, nil
	}
	return w, nil
}

// tsItem reads one document: its id, or a generated one written into it
// (Typesense would generate one; federate must know it to place it).
func tsItem(doc []byte, line int) (WriteItem, error) {
	if !isObject(doc) || !json.Valid(doc) {
		return WriteItem{}, tsError(http.StatusBadRequest, "Bad JSON: line "+strconv.Itoa(line+1)+" is not a JSON object")
	}
	raw, ok := member(doc, "id")
	if !ok {
		id := newESID()
		withID := append([]byte(`{"id":`+strconv.Quote(id)+`,`), bytes.TrimSpace(doc)[1:]...)
		if bytes.Equal(bytes.TrimSpace(doc[1:]), []byte("}")) {
			withID = []byte(`{"id":` + strconv.Quote(id) + `}`)
		}
		return WriteItem{ID: id, Doc: withID}, nil
	}
	id, ok := canonicalID(raw)
	if !ok {
		return WriteItem{}, tsError(http.StatusBadRequest, "Document's `id` field should be a string.")
	}
	return WriteItem{ID: id, Doc: doc}, nil
}

// BuildWrite builds one shard's part of a Typesense write.
func (typesense) BuildWrite(w *Write, items []int, index string) *Request {
	req := &Request{Method: w.Method, Path: w.PathFor(index), RawQuery: w.RawQuery, Body: w.Body, ContentType: w.ContentType}
	if w.batch == batchDocs {
		var b bytes.Buffer
		for i, at := range items {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.Write(w.Items[at].Doc)
		}
		req.Body = b.Bytes()
	}
	return req
}

// DecodePart reads a shard's answer: an import's result lines, or any 2xx
// (a single document's 404 is the engine's own answer).
func (typesense) DecodePart(w *Write, n int, status int, body []byte) PartAnswer {
	pa := PartAnswer{Status: status, TaskUID: -1, Body: body}
	if status < 200 || status > 299 {
		if w.batch == batchAsIs && status == http.StatusNotFound {
			pa.OK = true
			return pa
		}
		pa.Reason = "answered " + strconv.Itoa(status) + messageOf(body)
		return pa
	}
	if w.batch != batchDocs {
		pa.OK = true
		return pa
	}
	for _, line := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			pa.Items = append(pa.Items, json.RawMessage(line))
		}
	}
	if len(pa.Items) != n {
		pa.Reason = "answered " + strconv.Itoa(len(pa.Items)) + " import result lines for " + strconv.Itoa(n)
		return pa
	}
	pa.OK = true
	return pa
}

// TSImportLine is a failed import result line, as Typesense writes it.
func TSImportLine(doc []byte, msg string) []byte {
	b, _ := json.Marshal(map[string]any{"success": false, "error": msg, "document": string(doc)})
	return b
}

// TSImportOK reports whether an import result line is a success.
func TSImportOK(line []byte) bool {
	var r struct {
		Success bool `json:"success"`
	}
	return json.Unmarshal(line, &r) == nil && r.Success
}
