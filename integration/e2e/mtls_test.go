package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/integration/corpus"
	"github.com/searchfront/caddy-federate/integration/harness"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type testPKI struct {
	pool                                  *x509.CertPool
	server                                tls.Certificate
	caFile, clientCertFile, clientKeyFile string
	otherCertFile, otherKeyFile           string // signed by another CA
}

func newTestPKI(t *testing.T) *testPKI {
	dir := t.TempDir()
	p := &testPKI{pool: x509.NewCertPool()}
	caKey, caCert, caDER := selfSigned(t, "federate test CA")
	p.pool.AddCert(caCert)
	p.caFile = writePEM(t, dir, "ca.crt", "CERTIFICATE", caDER)
	srvKey, srvDER := issue(t, caCert, caKey, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	p.server = tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}
	cliKey, cliDER := issue(t, caCert, caKey, "federate", x509.ExtKeyUsageClientAuth)
	p.clientCertFile = writePEM(t, dir, "client.crt", "CERTIFICATE", cliDER)
	p.clientKeyFile = writePEM(t, dir, "client.key", "EC PRIVATE KEY", marshalKey(t, cliKey))
	otherCAKey, otherCA, _ := selfSigned(t, "another CA")
	otherKey, otherDER := issue(t, otherCA, otherCAKey, "intruder", x509.ExtKeyUsageClientAuth)
	p.otherCertFile = writePEM(t, dir, "other.crt", "CERTIFICATE", otherDER)
	p.otherKeyFile = writePEM(t, dir, "other.key", "EC PRIVATE KEY", marshalKey(t, otherKey))
	return p
}

func selfSigned(t *testing.T, cn string) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert, der
}

func issue(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string, usage x509.ExtKeyUsage) (*ecdsa.PrivateKey, []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func marshalKey(t *testing.T, k *ecdsa.PrivateKey) []byte {
	b, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMutualTLSToShards: an esshard reachable only through a TLS endpoint
// that requires a client certificate from the test CA. A shard with
// reverse_proxy's `tls_client_auth` and `tls_trust_pool` gets its hits;
// the same shard with a certificate from another CA, or none, is refused
// by the engine's endpoint, and a client calling the endpoint directly
// without a certificate fails the handshake.
func TestMutualTLSToShards(t *testing.T) {
	pki := newTestPKI(t)
	es := harness.StartESShard(t, harness.ShardOptions{Name: "mtls", Docs: []corpus.Doc{
		{ID: "m1", Title: "mutual tls", Body: "a document behind a client certificate"},
		{ID: "m2", Title: "other", Body: "another document"},
	}})
	target, _ := url.Parse(es.URL)
	front := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(target))
	front.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.pool}
	front.StartTLS()
	t.Cleanup(front.Close)
	addr := strings.TrimPrefix(front.URL, "https://")

	direct := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool}}}
	if resp, err := direct.Get(front.URL + "/docs/_search"); err == nil {
		resp.Body.Close()
		t.Fatalf("the engine endpoint answered a client without a certificate: %s", resp.Status)
	}

	shard := func(name, cert, key string) string {
		auth := ""
		if cert != "" {
			auth = fmt.Sprintf("\n\t\t\t\ttls_client_auth %s %s", cert, key)
		}
		return fmt.Sprintf(`		shard %s %s {
			index docs
			transport http {
				tls_trust_pool file %s%s
			}
		}`, name, addr, pki.caFile, auth)
	}
	url := secCaddy(t, "\tfederate /docs/_search {\n\t\tdialect elasticsearch\n\t\tmin_shards 1\n"+
		shard("good", pki.clientCertFile, pki.clientKeyFile)+"\n"+
		shard("wrongca", pki.otherCertFile, pki.otherKeyFile)+"\n"+
		shard("nocert", "", "")+"\n\t}")
	code, _, body := send(t, url+"/docs/_search", `{"query":{"match":{"title":"mutual"}}}`)
	a := decodeES(t, code, []byte(body))
	if len(a.Hits.Hits) == 0 || a.Hits.Hits[0].ID != "m1" {
		t.Errorf("no hit through mutual TLS: %s", body)
	}
	if a.Shards.Successful != 1 || a.Shards.Failed != 2 {
		t.Errorf("_shards %+v, want the good shard ok and the two without a trusted certificate failed: %s", *a.Shards, body)
	}
}
