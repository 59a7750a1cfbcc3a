package caddyfederate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// adaptHandler adapts a Caddyfile and returns the federate handler's JSON.
func adaptHandler(t *testing.T, site string) map[string]any {
	t.Helper()
	cf := "{\n\tadmin off\n}\n:8080 {\n" + site + "\n}\n"
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	var found map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["handler"] == "federate" {
				found = x
				return
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	var cfg any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	walk(cfg)
	if found == nil {
		t.Fatalf("no federate handler in %s", out)
	}
	return found
}

func TestCaddyfileFull(t *testing.T) {
	h := adaptHandler(t, `
	federate /indexes/* {
		dialect meilisearch
		merge score zscore mnz {
			depth 50
			max_facet_values 20
		}
		dedupe sku
		limit 15
		max_window 500
		timeout 800ms
		min_shards 2
		require eu
		max_request_body 64KiB
		max_response_size 2MiB
		shard eu 10.0.0.1:7700 10.0.0.2:7700 {
			index products
			weight 1.5
			timeout 300ms
			lb_policy least_conn
			health_uri /health
			header_up X-Dialect dialect
		}
		shard us {
			dialect elasticsearch
			to 10.0.1.1:9200
			index products-us
		}
	}`)
	want := map[string]any{
		"dialect": "meilisearch", "dedupe": "sku", "limit": 15.0, "max_window": 500.0,
		"timeout": 800e6, "min_shards": 2.0, "require": []any{"eu"},
		"max_request_body": 65536.0, "max_response_size": 2097152.0,
	}
	for k, v := range want {
		if !reflect.DeepEqual(h[k], v) {
			t.Errorf("%s = %#v, want %#v", k, h[k], v)
		}
	}
	m := h["merge"].(map[string]any)
	if m["strategy"] != "score" || m["normalizer"] != "zscore" || m["combine"] != "mnz" || m["depth"] != 50.0 || m["max_facet_values"] != 20.0 {
		t.Errorf("merge = %v", m)
	}
	shards := h["shards"].([]any)
	eu := shards[0].(map[string]any)
	if eu["name"] != "eu" || eu["index"] != "products" || eu["weight"] != 1.5 || eu["timeout"] != 300e6 {
		t.Errorf("shard eu = %v", eu)
	}
	proxy := eu["proxy"].(map[string]any)
	if proxy["handler"] != "reverse_proxy" {
		t.Fatalf("proxy = %v", proxy)
	}
	for _, k := range []string{"index", "weight", "timeout", "name", "dialect"} {
		if _, ok := proxy[k]; ok {
			t.Errorf("federate option %q leaked into the reverse_proxy config", k)
		}
	}
	ups, _ := json.Marshal(proxy["upstreams"])
	if string(ups) != `[{"dial":"10.0.0.1:7700"},{"dial":"10.0.0.2:7700"}]` {
		t.Errorf("upstreams = %s", ups)
	}
	lb, _ := json.Marshal(proxy["load_balancing"])
	if !strings.Contains(string(lb), `"policy":"least_conn"`) {
		t.Errorf("load_balancing = %s", lb)
	}
	hc, _ := json.Marshal(proxy["health_checks"])
	if !strings.Contains(string(hc), `"uri":"/health"`) {
		t.Errorf("health_checks = %s", hc)
	}
	hdr, _ := json.Marshal(proxy["headers"])
	if !strings.Contains(string(hdr), `"X-Dialect":["dialect"]`) {
		t.Errorf("an argument that reads like a federate option must stay reverse_proxy's: headers = %s", hdr)
	}
	us := shards[1].(map[string]any)
	if us["dialect"] != "elasticsearch" || us["index"] != "products-us" {
		t.Errorf("shard us = %v", us)
	}
	ups, _ = json.Marshal(us["proxy"].(map[string]any)["upstreams"])
	if string(ups) != `[{"dial":"10.0.1.1:9200"}]` {
		t.Errorf("`to` upstreams = %s", ups)
	}
}

func TestCaddyfileJSONDialect(t *testing.T) {
	h := adaptHandler(t, `
	federate {
		merge auto homogeneous
		shard legacy 127.0.0.1:9000 {
			dialect json
			json {
				path "/api/find?text={federate.q}&n={federate.limit}"
				hits /results
				id /key
				score /relevance
				total /count
			}
		}
	}`)
	if m := h["merge"].(map[string]any); m["strategy"] != "auto" || m["homogeneous"] != true {
		t.Errorf("merge = %v", m)
	}
	s := h["shards"].([]any)[0].(map[string]any)
	want := map[string]any{"path": "/api/find?text={federate.q}&n={federate.limit}", "hits": "/results", "id": "/key", "score": "/relevance", "total": "/count"}
	if !reflect.DeepEqual(s["json"], want) {
		t.Errorf("json = %v, want %v", s["json"], want)
	}
	if _, ok := s["proxy"].(map[string]any)["json"]; ok {
		t.Errorf("json block leaked into the proxy")
	}
}

// TestCaddyfileErrors checks every class of Caddyfile mistake: the adapter
// refuses it with a message that names the directive (Caddy adds it), the
// option (and shard) and what was wrong, at the offending line (the line
// marked "# here").
func TestCaddyfileErrors(t *testing.T) {
	shard := func(body string) string {
		return "federate {\n shard eu 127.0.0.1:1 {\n" + body + "\n }\n}"
	}
	cases := []struct{ name, site, want string }{
		// repeated single-use options, at every level
		{"repeated option", "federate {\n limit 1\n limit 2 # here\n}", `limit: given twice in one block`},
		{"repeated flag", "federate {\n broadcast\n broadcast # here\n}", `broadcast: given twice`},
		{"repeated merge", "federate {\n merge rrf\n merge raw # here\n}", `merge: given twice`},
		{"repeated merge option", "federate {\n merge rrf {\n depth 5\n depth 6 # here\n }\n}", `merge: depth: given twice`},
		{"repeated shard hedge", shard(" hedge 10ms\n hedge auto # here"), `shard eu: hedge: given twice`},
		{"repeated shard json", shard(" dialect json\n json {\n hits /h\n }\n json { # here\n hits /h\n }"), `shard eu: json: given twice`},
		{"repeated shard dialect", shard(" dialect solr\n dialect solr # here"), `shard eu: dialect: given twice`},
		{"repeated shard index", shard(" index a\n index b # here"), `shard eu: index: given twice`},
		{"repeated shard weight", shard(" weight 1\n weight 2 # here"), `shard eu: weight: given twice`},
		{"repeated shard timeout", shard(" timeout 1s\n timeout 2s # here"), `shard eu: timeout: given twice`},
		{"repeated json option", shard(" dialect json\n json {\n hits /a\n hits /b # here\n }"), `shard eu: json: hits: given twice`},
		// bad arguments of every typed option
		{"limit", "federate {\n limit abc # here\n}", `limit: "abc" is not a whole number`},
		{"max_window", "federate {\n max_window -3 # here\n}", `max_window: "-3" is not a whole number`},
		{"min_shards", "federate {\n min_shards two # here\n}", `min_shards: "two" is not a whole number`},
		{"timeout", "federate {\n timeout soon # here\n}", `timeout: "soon" is not a positive duration`},
		{"max_request_body", "federate {\n max_request_body lots # here\n}", `max_request_body: "lots" is not a size`},
		{"max_response_size", "federate {\n max_response_size 0 # here\n}", `max_response_size: "0" is not a size`},
		{"coalesce", "federate {\n coalesce maybe # here\n}", `coalesce: "maybe" is not on or off`},
		{"dialect", "federate {\n dialect sphinx # here\n}", `dialect: "sphinx" is not a dialect; use one of [`},
		{"name arity", "federate {\n name a b # here\n}", `name: takes one argument, got also "b"`},
		{"dedupe arity", "federate {\n dedupe # here\n}", `dedupe: needs an argument`},
		{"broadcast arity", "federate {\n broadcast yes # here\n}", `broadcast: takes no argument, got "yes"`},
		{"require arity", "federate {\n require # here\n}", `require: needs at least one shard name`},
		{"merge strategy", "federate {\n merge best # here\n}", `merge: unknown strategy "best"`},
		{"merge none", "federate {\n merge # here\n}", `merge: needs a strategy`},
		{"merge rrf k", "federate {\n merge rrf zero # here\n}", `merge: rrf k "zero" is not a positive number`},
		{"merge score", "federate {\n merge score cosine # here\n}", `merge: score argument "cosine"`},
		{"merge auto", "federate {\n merge auto always # here\n}", "merge: auto takes only the hint `homogeneous`"},
		{"merge calibrated", "federate {\n merge calibrated 60 # here\n}", `merge: calibrated takes no argument`},
		{"merge depth", "federate {\n merge rrf {\n depth deep # here\n }\n}", `merge: depth: "deep" is not a whole number`},
		{"merge max_facet_values", "federate {\n merge rrf {\n max_facet_values x # here\n }\n}", `merge: max_facet_values: "x" is not a whole number`},
		{"merge unknown", "federate {\n merge rrf {\n width 3 # here\n }\n}", `merge: unknown option "width"`},
		{"merge split", "federate {\n merge auto {\n split sideways # here\n }\n}", `merge: split: "sideways" is neither hash nor topical`},
		{"merge split homogeneous", "federate {\n merge auto homogeneous {\n split topical # here\n }\n}", `merge: split: topical contradicts auto homogeneous`},
		{"repeated merge split", "federate {\n merge auto {\n split hash\n split topical # here\n }\n}", `merge: split: given twice`},
		{"shard weight", shard(" weight -1 # here"), `shard eu: weight: "-1" is not a positive number`},
		{"shard weight text", shard(" weight heavy # here"), `shard eu: weight: "heavy" is not a positive number`},
		{"shard timeout", shard(" timeout 0s # here"), `shard eu: timeout: "0s" is not a positive duration`},
		{"shard dialect", shard(" dialect sphinx # here"), `shard eu: dialect: "sphinx" is not a dialect; use one of [`},
		{"shard index arity", shard(" index a b # here"), `shard eu: index: takes one argument`},
		{"shard hedge delay", shard(" hedge soon # here"), `shard eu: hedge delay must be a positive duration`},
		{"shard hedge budget", shard(" hedge auto budget 300 # here"), `shard eu: hedge budget must be a percentage`},
		{"json unknown", shard(" dialect json\n json {\n hits /h\n rank /r # here\n }"), `shard eu: json: unknown option "rank"`},
		{"json arity", shard(" dialect json\n json {\n hits # here\n }"), `shard eu: json: hits: needs an argument`},
		{"shard needs name", "federate {\n shard # here\n}", `shard: needs a name`},
		{"unknown option", "federate {\n nope 1 # here\n}", `unknown option "nope"`},
		{"directive argument", "federate /x extra { # here\n shard a 127.0.0.1:1\n}", `unexpected argument "extra"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cf := "{\n\tadmin off\n}\n:8080 {\n" + c.site + "\n}\n"
			line := 0
			for i, l := range strings.Split(cf, "\n") {
				if strings.Contains(l, "# here") {
					line = i + 1
				}
			}
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
			if err == nil {
				t.Fatalf("adapted without error:\n%s", cf)
			}
			msg := err.Error()
			for _, want := range []string{"parsing caddyfile tokens for 'federate': ", c.want, fmt.Sprintf(", at Caddyfile:%d", line)} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q\nlacks %q", msg, want)
				}
			}
			if strings.Contains(msg, "federate: ") {
				t.Errorf("error %q repeats the directive's name", msg)
			}
		})
	}
}

// TestUnmarshalCaddyfile reads a block through the Unmarshaler interface,
// as another module embedding the handler would, without the HTTP
// Caddyfile adapter.
func TestUnmarshalCaddyfile(t *testing.T) {
	d := caddyfile.NewTestDispenser(`federate {
		limit 5
		shard a 127.0.0.1:1 {
			weight 2
			lb_policy first
		}
	}`)
	var u caddyfile.Unmarshaler = new(Handler)
	if err := u.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	h := u.(*Handler)
	if h.Limit != 5 || len(h.Shards) != 1 || h.Shards[0].Weight != 2 {
		t.Fatalf("handler = %+v", h)
	}
	if !strings.Contains(string(h.Shards[0].ProxyRaw), `"policy":"first"`) {
		t.Errorf("shard proxy = %s", h.Shards[0].ProxyRaw)
	}
}

// TestCaddyfileExampleValidates: the repository's Caddyfile.example adapts
// and provisions (`caddy adapt` and `caddy validate`, in process): every
// federate route in it is a valid config of this module.
func TestCaddyfileExampleValidates(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "Caddyfile.example"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, warn, err := caddyconfig.GetAdapter("caddyfile").Adapt(b, map[string]any{"filename": "Caddyfile.example"})
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	for _, w := range warn {
		if strings.Contains(w.Message, "federate") {
			t.Errorf("adapt warning: %v", w)
		}
	}
	if n := strings.Count(string(cfg), `"handler":"federate"`); n == 0 {
		t.Fatalf("no federate route in the adapted example")
	}
	// Caddy starts active health checks while it is still provisioning
	// the rest of the config, and their goroutine reads the module context
	// that later LoadModule calls write (a race inside Caddy, which -race
	// reports). Active health checks are reverse_proxy's, not federate's:
	// validate without them.
	var raw any
	if err := json.Unmarshal(cfg, &raw); err != nil {
		t.Fatal(err)
	}
	var dropActive func(v any)
	dropActive = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if hc, ok := x["health_checks"].(map[string]any); ok {
				delete(hc, "active")
			}
			for _, c := range x {
				dropActive(c)
			}
		case []any:
			for _, c := range x {
				dropActive(c)
			}
		}
	}
	dropActive(raw)
	cfg, _ = json.Marshal(raw)
	var c caddy.Config
	if err := json.Unmarshal(cfg, &c); err != nil {
		t.Fatal(err)
	}
	if err := caddy.Validate(&c); err != nil {
		t.Fatalf("validate: %v", err)
	}
}

// TestMergeSplit: `split topical` reaches the merge options (where
// rrf_calibrated gives the calibrated scores their topical share, see
// merge.TestRRFCalibratedTopical); hash is the default; the JSON form
// rejects what the Caddyfile rejects.
func TestMergeSplit(t *testing.T) {
	h := adaptHandler(t, "federate {\n merge auto {\n split topical\n }\n}")
	if m := h["merge"].(map[string]any); m["split"] != "topical" {
		t.Errorf("merge = %v", m)
	}
	for _, tc := range []struct {
		mc      MergeConfig
		topical bool
		err     string
	}{
		{MergeConfig{}, false, ""},
		{MergeConfig{Split: "hash"}, false, ""},
		{MergeConfig{Strategy: "rrf_calibrated", Split: "topical"}, true, ""},
		{MergeConfig{Split: "topical"}, true, ""},
		{MergeConfig{Split: "by-topic"}, false, `unknown merge split "by-topic"; use hash or topical`},
		{MergeConfig{Homogeneous: true, Split: "topical"}, false, "homogeneous declares one collection spread by hash"},
	} {
		mc := tc.mc
		h := &Handler{Merge: &mc}
		err := h.provisionMerge()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%+v: error %v, want %q", tc.mc, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%+v: %v", tc.mc, err)
		}
		if h.mergeOpts.Topical != tc.topical {
			t.Errorf("%+v: Topical %v, want %v", tc.mc, h.mergeOpts.Topical, tc.topical)
		}
	}
}
