// Package harness starts the integration suite's world for one test and tears
// it down when the test ends, failed or not: private PostgreSQL clusters,
// Groonga, the esshard and pgshard shard servers (built once per test binary),
// and the real caddy binary built by scripts/setup.sh, configured through a
// Caddyfile and reloaded through its admin API.
//
// Every process listens on loopback only, runs in its own process group (the
// whole group is killed at cleanup) and logs to a file whose tail is printed
// when the test fails. Every wait is bounded.
//
// Missing prerequisites (a caddy binary, groonga, PostgreSQL) first run
// scripts/setup.sh once per test binary (unless INTEGRATION_NO_SETUP=1); what
// is still missing fails the test when CI=true and skips it otherwise.
//
// A test binary using the harness should call Main from TestMain so the shard
// binaries it built are removed:
//
//	func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }
package harness
