package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/searchfront/caddy-federate/integration/corpus"
	"github.com/searchfront/caddy-federate/integration/harness"
)

// startDNS serves A records for the names in zone (name → IPv4 addresses)
// on a loopback UDP port and returns its address; every other name is
// NXDOMAIN. It stands in for the DNS service that `dynamic a` reads in a
// real deployment, so the test needs neither root nor /etc/hosts.
func startDNS(t *testing.T, zone map[string][]string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		for _, q := range r.Question {
			ips, ok := zone[strings.ToLower(strings.TrimSuffix(q.Name, "."))]
			if !ok {
				m.Rcode = dns.RcodeNameError
				continue
			}
			if q.Qtype != dns.TypeA {
				continue
			}
			for _, ip := range ips {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1},
					A:   net.ParseIP(ip),
				})
			}
		}
		_ = w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// dynAnswer is the part of a federate-dialect answer these tests read.
type dynAnswer struct {
	Hits   []json.RawMessage `json:"hits"`
	Shards map[string]struct {
		Status  string `json:"status"`
		TookMS  int    `json:"took_ms"`
		Replica string `json:"replica"`
		Reason  string `json:"reason"`
	} `json:"shards"`
}

// fedStatus is GET /federate/status.
type fedStatus []struct {
	Name   string `json:"name"`
	Shards []struct {
		Name      string `json:"name"`
		Upstreams []struct {
			Address     string `json:"address"`
			Dynamic     bool   `json:"dynamic"`
			Healthy     bool   `json:"healthy"`
			Available   bool   `json:"available"`
			NumRequests int    `json:"num_requests"`
			Fails       int    `json:"fails"`
		} `json:"upstreams"`
	} `json:"shards"`
}

// TestDynamicUpstreams runs a shard whose replicas come from `dynamic a`:
// the shard's name resolves (through a DNS server the test runs) to three
// loopback addresses, 127.0.0.1-3, each an esshard replica on the same
// port; a second shard's name resolves to 127.0.0.4-5, where nothing
// listens. It proves that searches reach every replica, that the dead shard
// is answered `unavailable` at once once Caddy's passive health checks have
// marked its replicas down, that a slow replica is hedged to another one,
// and that /federate/status lists the dynamic upstreams with their health.
func TestDynamicUpstreams(t *testing.T) {
	harness.Heavy(t)
	bin := federateBin(t)
	docs := make([]corpus.Doc, 30)
	for i := range docs {
		docs[i] = corpus.Doc{ID: "d" + strconv.Itoa(i), Title: "network server " + strconv.Itoa(i), Body: "a network daemon", Section: "net"}
	}
	port := harness.FreePort(t) // free on 127.0.0.1; the other loopback addresses are unused
	replicas := make([]*harness.Shard, 3)
	for i := range replicas {
		addr := fmt.Sprintf("127.0.0.%d:%d", i+1, port)
		replicas[i] = harness.StartESShard(t, harness.ShardOptions{Name: "replica" + strconv.Itoa(i+1), Docs: docs, Args: []string{"-addr", addr}})
		harness.Require(t, replicas[i].Addr == addr, "replica listening on %s, got %s", addr, replicas[i].Addr)
	}
	resolver := startDNS(t, map[string][]string{
		"replicas.federate.test": {"127.0.0.1", "127.0.0.2", "127.0.0.3"},
		"gone.federate.test":     {"127.0.0.4", "127.0.0.5"},
	})
	front := harness.Addr(harness.FreePort(t))
	dynamic := func(name string) string {
		return fmt.Sprintf("dynamic a %s %d {\n\t\t\t\tresolvers %s\n\t\t\t\tversions ipv4\n\t\t\t}", name, port, resolver)
	}
	site := fmt.Sprintf(`http://%s {
	federate {
		dialect federate
		coalesce off
		# answers name the replica that answered: the test reads it
		expose_shard_errors
		timeout 5s
		shard docs {
			dialect elasticsearch
			index docs
			%s
			lb_policy round_robin
			hedge 50ms budget 100
		}
		shard gone {
			dialect elasticsearch
			index docs
			%s
			lb_try_duration 1s
			fail_duration 1m
			max_fails 1
		}
	}
}
`, front, dynamic("replicas.federate.test"), dynamic("gone.federate.test"))
	c := harness.StartCaddy(t, harness.CaddyOptions{Bin: bin, Sites: site})
	search := func(t *testing.T) (dynAnswer, time.Duration) {
		t.Helper()
		start := time.Now()
		code, body, err := harness.DoErr(http.MethodPost, "http://"+front+"/", map[string]any{"q": "network", "limit": 5}, nil)
		took := time.Since(start)
		if err != nil || code != 200 {
			t.Fatalf("search: %d %v %.300s", code, err, body)
		}
		var a dynAnswer
		if err := json.Unmarshal(body, &a); err != nil {
			t.Fatalf("not a federate answer: %v %.300s", err, body)
		}
		return a, took
	}
	want := func(ips ...string) []string {
		var out []string
		for _, ip := range ips {
			out = append(out, net.JoinHostPort(ip, strconv.Itoa(port)))
		}
		return out
	}

	t.Run("searches reach every replica", func(t *testing.T) {
		seen := map[string]bool{}
		for range 6 {
			a, _ := search(t)
			docs := a.Shards["docs"]
			if docs.Status != "ok" || len(a.Hits) != 5 {
				t.Fatalf("shard docs %+v, %d hits", docs, len(a.Hits))
			}
			seen[docs.Replica] = true
		}
		for _, r := range replicas {
			if len(r.Requests(t)) == 0 || !seen[r.Addr] {
				t.Errorf("replica %s was never asked (answers came from %v)", r.Addr, seen)
			}
		}
	})

	t.Run("unavailable at once", func(t *testing.T) {
		// Both of gone's replicas refused a connection during the searches
		// above: Caddy's passive health check holds them down for a minute.
		a, took := search(t)
		gone := a.Shards["gone"]
		if gone.Status != "unavailable" || gone.TookMS > 100 || took > 500*time.Millisecond {
			t.Fatalf("shard gone %+v, search took %v: want unavailable at once, not after lb_try_duration (1s)", gone, took)
		}
	})

	t.Run("hedged to another replica", func(t *testing.T) {
		slow := replicas[1]
		slow.SetFault(t, harness.Fault{DelayMS: 2000})
		defer slow.ClearFault(t)
		slow.ClearRequests(t)
		for range 6 {
			a, _ := search(t)
			docs := a.Shards["docs"]
			if docs.Status != "ok" || docs.Replica == "" || docs.Replica == slow.Addr || docs.TookMS > 1000 {
				t.Fatalf("shard docs %+v: want a fast answer from another replica", docs)
			}
		}
		if len(slow.Requests(t)) == 0 {
			t.Fatalf("round_robin never chose the slow replica, so no hedge was needed")
		}
		if m := metricLine(t, c.AdminURL, `caddy_federate_hedges_won_total{route="federate",shard="docs"}`); m == "" {
			t.Errorf("no hedges_won_total series for route federate, shard docs")
		}
	})

	t.Run("status lists dynamic upstreams", func(t *testing.T) {
		code, body := harness.Do(t, http.MethodGet, c.AdminURL+"/federate/status", nil)
		var st fedStatus
		if code != 200 || json.Unmarshal(body, &st) != nil || len(st) != 1 || len(st[0].Shards) != 2 {
			t.Fatalf("GET /federate/status: %d %.500s", code, body)
		}
		for _, s := range st[0].Shards {
			var addrs []string
			for _, u := range s.Upstreams {
				addrs = append(addrs, u.Address)
				if !u.Dynamic {
					t.Errorf("shard %s: upstream %s not marked dynamic", s.Name, u.Address)
				}
				if s.Name == "gone" && (u.Available || u.Fails == 0) {
					t.Errorf("shard gone: %+v should be down with its failure counted", u)
				}
				if s.Name == "docs" && !u.Available {
					t.Errorf("shard docs: %+v should be available", u)
				}
			}
			slices.Sort(addrs)
			exp := want("127.0.0.1", "127.0.0.2", "127.0.0.3")
			if s.Name == "gone" {
				exp = want("127.0.0.4", "127.0.0.5")
			}
			if !slices.Equal(addrs, exp) {
				t.Errorf("shard %s lists upstreams %v, want %v: %.500s", s.Name, addrs, exp, body)
			}
		}
	})
}

// metricLine returns the line of Caddy's /metrics (admin API) that starts
// with series, or "".
func metricLine(t *testing.T, adminURL, series string) string {
	t.Helper()
	code, body := harness.Do(t, http.MethodGet, adminURL+"/metrics", nil)
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), series+" ") {
			return sc.Text()
		}
	}
	return ""
}
