package caddyfederate

import (
	"testing"
)

// TestCredentialsStayWithTheRoute: the attack (before): a client's
// Authorization, Cookie and engine API-key headers reached every shard.
// Safe: a plain shard gets none of them; an operator's header_up still
// sets its own key; a shard with forward_credentials gets them all; a
// header_up placeholder still reads the client's value.
func TestCredentialsStayWithTheRoute(t *testing.T) {
	hits := []fakeHit{{"x", 1, ""}}
	plain := newFakeEngine(t, "meilisearch", hits...)
	operator := newFakeEngine(t, "meilisearch", hits...)
	forward := newFakeEngine(t, "meilisearch", hits...)
	explicit := newFakeEngine(t, "meilisearch", hits...)
	url := startCaddy(t, meiliSite("\t\tdedupe off\n\t\tcoalesce off",
		shardLine("plain", plain),
		shardLine("operator", operator, "\t\t\theader_up Authorization \"Bearer operator-key\""),
		shardLine("forward", forward, "\t\t\tforward_credentials"),
		shardLine("explicit", explicit, "\t\t\theader_up X-Client-Key {http.request.header.X-Meili-Api-Key}", "\t\t\theader_up X-Sid {http.request.cookie.sid}"),
	))
	resp, out := search(t, url+"/indexes/x/search", `{"q":"a"}`,
		"Authorization", "Bearer client-key", "Cookie", "sid=secret", "X-Meili-API-Key", "mk", "X-TYPESENSE-API-KEY", "tk", "X-Api-Key", "ak", "X-Other", "kept")
	if resp.StatusCode != 200 || len(hitIDs(t, out)) != 4 {
		t.Fatalf("status %d %v", resp.StatusCode, out)
	}
	creds := []string{"Authorization", "Cookie", "X-Meili-Api-Key", "X-Typesense-Api-Key", "X-Api-Key"}
	one := func(f *fakeEngine) seenRequest {
		t.Helper()
		rs := f.requests()
		if len(rs) != 1 {
			t.Fatalf("shard saw %d requests, want 1", len(rs))
		}
		return rs[0]
	}
	for _, name := range creds {
		if v := one(plain).Header.Get(name); v != "" {
			t.Errorf("plain shard received %s: %q", name, v)
		}
		if name != "Authorization" && one(operator).Header.Get(name) != "" {
			t.Errorf("operator shard received %s", name)
		}
		if one(forward).Header.Get(name) == "" {
			t.Errorf("forward_credentials shard did not receive %s", name)
		}
	}
	if got := one(plain).Header.Get("X-Other"); got != "kept" {
		t.Errorf("a header that is no credential was dropped: %q", got)
	}
	if got := one(operator).Header.Get("Authorization"); got != "Bearer operator-key" {
		t.Errorf("operator header_up: shard got Authorization %q, want the operator's key", got)
	}
	h := one(explicit).Header
	if h.Get("X-Client-Key") != "mk" || h.Get("X-Sid") != "secret" || h.Get("Authorization") != "" {
		t.Errorf("explicit placeholders: X-Client-Key %q X-Sid %q Authorization %q", h.Get("X-Client-Key"), h.Get("X-Sid"), h.Get("Authorization"))
	}
}

func TestStripParams(t *testing.T) {
	for in, want := range map[string]string{
		"q=a&x-typesense-api-key=k&per_page=1": "q=a&per_page=1",
		"X-TYPESENSE-API-KEY=k":                "",
		"q=api_key":                            "q=api_key",
		"x%2Dtypesense%2Dapi%2Dkey=k&q=a":      "q=a",
		"q=a":                                  "q=a",
	} {
		if got := stripParams(in); got != want {
			t.Errorf("stripParams(%q) = %q, want %q", in, got, want)
		}
	}
}
