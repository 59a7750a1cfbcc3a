package dialect

// solr_write.go is the Solr JSON update API (/{collection}/update,
// /update/json, /update/json/docs): arrays of documents are placed by id;
// delete by id is routed; commits, delete by query and anything else that
// is not per document go to every shard. Commit parameters
// (?commit=true, softCommit, commitWithin) pass through to every shard.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Solr write types (Write.Type).
const (
	solrUpdate   = "update"   // per-document: an array of documents
	solrDeletes  = "delete"   // per-document: {"delete": [ids]}
	solrCommands = "commands" // whole request: commit, delete by query, ...
)

// DecodeWrite reads Solr JSON updates; nil, nil for everything else.
func (solr) DecodeWrite(r *http.Request, body []byte, idField string) (*Write, error) {
	if r.Method != http.MethodPost {
		return nil, nil
	}
	segs := pathSegments(r.URL.Path)
	at := -1
	for i, s := range segs {
		if s == "update" && i >= 1 {
			at = i
			break
		}
	}
	if at < 0 {
		return nil, nil
	}
	w := &Write{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Body: body, ContentType: "application/json"}
	if c, err := url.PathUnescape(segs[at-1]); err == nil && c != "solr" {
		w.Index = c
		if i := strings.Index(w.Path, "/"+c+"/update"); i >= 0 {
			w.indexAt = i + 1
		}
	}
	if idField == "" {
		idField = "id"
	}
	body = bytes.TrimSpace(body)
	switch {
	case len(body) == 0:
		w.Kind, w.Type = WriteAll, solrCommands // e.g. ?commit=true
	case body[0] == '[':
		var docs []json.RawMessage
		if err := json.Unmarshal(body, &docs); err != nil {
			return nil, solrBad("the update body is not valid JSON: " + err.Error())
		}
		w.Kind, w.Type, w.batch = WriteRouted, solrUpdate, batchDocs
		for i, d := range docs {
			raw, ok := member(d, idField)
			id, valid := canonicalID(raw)
			if !isObject(d) || !ok || !valid {
				return nil, solrBad("Document #" + strconv.Itoa(i) + " has no usable `" + idField + "`: federate places documents by their id")
			}
			w.Items = append(w.Items, WriteItem{ID: id, Doc: d})
		}
	case body[0] == '{':
		obj, ok := rawObject(body)
		if !ok {
			return nil, solrBad("the update body is not valid JSON")
		}
		del, onlyDelete := obj["delete"]
		if onlyDelete && len(obj) == 1 {
			if ids, ok := solrDeleteIDs(del); ok {
				w.Kind, w.Type, w.batch = WriteRouted, solrDeletes, batchIDs
				for _, id := range ids {
					w.Items = append(w.Items, WriteItem{ID: id, Action: "delete", Doc: mustJSON(id)})
				}
				return w, nil
			}
		}
		if _, add := obj["add"]; add {
			return nil, solrBad("federate routes an array of documents, not `add` commands: send the documents as a JSON array to /update")
		}
		w.Kind, w.Type = WriteAll, solrCommands
	default:
		return nil, solrBad("the update body must be a JSON array of documents or a JSON command object")
	}
	return w, nil
}

// solrDeleteIDs reads {"delete": "id"}, ["id", ...] or {"id": "x"}; false
// for a delete by query.
func solrDeleteIDs(raw json.RawMessage) ([]string, bool) {
	if id, ok := canonicalID(raw); ok {
		return []string{id}, true
	}
	var many []json.RawMessage
	if json.Unmarshal(raw, &many) == nil {
		var ids []string
		for _, m := range many {
			id, ok := canonicalID(m)
			if !ok {
				return nil, false
			}
			ids = append(ids, id)
		}
		return ids, true
	}
	var one struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(raw, &one) == nil && one.ID != nil {
		if id, ok := canonicalID(one.ID); ok {
			return []string{id}, true
		}
	}
	return nil, false
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func solrBad(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Type: "invalid_request", Message: msg}
}

// BuildWrite builds one shard's part of a Solr update.
func (solr) BuildWrite(w *Write, items []int, index string) *Request {
	req := &Request{Method: w.Method, Path: w.PathFor(index), RawQuery: w.RawQuery, Body: w.Body, ContentType: w.ContentType}
	vals := make([][]byte, len(items))
	for i, at := range items {
		vals[i] = w.Items[at].Doc
	}
	switch w.batch {
	case batchDocs:
		req.Body = jsonArray(vals)
	case batchIDs:
		req.Body = append(append([]byte(`{"delete":`), jsonArray(vals)...), '}')
	}
	return req
}

// DecodePart reads a shard's answer: 2xx with responseHeader.status 0.
func (solr) DecodePart(w *Write, n int, status int, body []byte) PartAnswer {
	pa := PartAnswer{Status: status, TaskUID: -1, Body: body}
	var a struct {
		ResponseHeader struct {
			Status int `json:"status"`
		} `json:"responseHeader"`
		Error struct {
			Msg string `json:"msg"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &a)
	if status < 200 || status > 299 || a.ResponseHeader.Status != 0 {
		pa.Reason = "answered " + strconv.Itoa(status)
		if a.Error.Msg != "" {
			pa.Reason += ": " + oneLineText(a.Error.Msg)
		}
		return pa
	}
	pa.OK = true
	return pa
}
