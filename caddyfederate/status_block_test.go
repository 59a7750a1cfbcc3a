package caddyfederate

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/searchfront/caddy-federate/dialect"
)

// TestShardStatusBlockAgrees: answers of two client dialects that report
// shards in a status object of federate's own (federate's `shards`,
// Typesense's `federate.shards`) describe the same shard outcome with the
// same object: the same members, the same values (took_ms aside, which is
// the time of each request).
func TestShardStatusBlockAgrees(t *testing.T) {
	ok := newFakeEngine(t, "meilisearch", fakeHit{"a1", 1, ""})
	bad := newFakeEngine(t, "meilisearch")
	bad.set(func(f *fakeEngine) { f.status = 500 })
	shards := strings.ReplaceAll(shardLine("ok", ok)+"\n"+shardLine("bad", bad), "{\n", "{\n\t\t\tdialect meilisearch\n\t\t\tindex x\n")
	site := "\tfederate /collections/* {\n\t\tdialect typesense\n\t\tcoalesce off\n" + shards + "\n\t}\n" +
		"\tfederate /search {\n\t\tdialect federate\n\t\tcoalesce off\n" + shards + "\n\t}"
	url := startCaddy(t, site)

	blocks := func(method, path, body string, typesense bool) map[string]map[string]any {
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Shards   map[string]map[string]any
			Federate struct{ Shards map[string]map[string]any }
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		if typesense {
			out.Shards = out.Federate.Shards
		}
		if err != nil || len(out.Shards) != 2 {
			t.Fatalf("%s %s: %d, shards %v, %v", method, path, resp.StatusCode, out.Shards, err)
		}
		return out.Shards
	}
	search := blocks(http.MethodPost, "/search", `{"q":"x"}`, false)
	ts := blocks(http.MethodGet, "/collections/x/documents/search?q=x&query_by=title", "", true)
	for _, name := range []string{"ok", "bad"} {
		s, b := search[name], ts[name]
		if ks, kb := keys(s), keys(b); !slices.Equal(ks, kb) {
			t.Errorf("shard %s: federate members %v, typesense members %v", name, ks, kb)
		}
		for _, k := range []string{"status", "replica", "http_status", "reason"} {
			if !reflect.DeepEqual(s[k], b[k]) {
				t.Errorf("shard %s: %s is %v in a federate answer, %v in a typesense answer", name, k, s[k], b[k])
			}
		}
	}
	if search["bad"]["status"] != "error" || search["bad"]["http_status"] != 500.0 || search["bad"]["reason"] == "" {
		t.Errorf("shard bad: %v", search["bad"])
	}
}

// TestShardStatusDefaults: a failed shard without a reason of its own gets
// the default for its status; an ok one none.
func TestShardStatusDefaults(t *testing.T) {
	var out map[string]any
	for _, c := range []struct {
		rep  dialect.ShardReport
		want string
	}{
		{dialect.ShardReport{Status: dialect.StatusOK, Reason: "ignored"}, ""},
		{dialect.ShardReport{Status: dialect.StatusUnavailable}, "no healthy upstream"},
		{dialect.ShardReport{Status: dialect.StatusError, HTTPStatus: 502}, "upstream answered HTTP 502"},
		{dialect.ShardReport{Status: dialect.StatusTimeout, Reason: "no answer within 1s"}, "no answer within 1s"},
	} {
		b := append(dialect.AppendShardStatus([]byte{'{'}, c.rep), '}')
		if err := json.Unmarshal(b, &out); err != nil || out["reason"] != c.want {
			t.Errorf("%+v: %s (%v), want reason %q", c.rep, b, err, c.want)
		}
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
