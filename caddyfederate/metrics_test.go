package caddyfederate

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsCarryRoute: every federate series is labelled by route, so
// that one route's shards, hedges and answers can be told from another's
// (a shard name alone is not unique across routes).
func TestMetricsCarryRoute(t *testing.T) {
	route := prometheus.Labels{"route": "r"}
	for _, c := range collectors {
		ch := make(chan *prometheus.Desc, 1)
		c.Describe(ch)
		name := (<-ch).String()
		var err error
		// Currying fails exactly when "route" is not a label of the vector.
		switch v := c.(type) {
		case *prometheus.CounterVec:
			_, err = v.CurryWith(route)
		case *prometheus.GaugeVec:
			_, err = v.CurryWith(route)
		case *prometheus.HistogramVec:
			_, err = v.CurryWith(route)
		case *prometheus.SummaryVec:
			_, err = v.CurryWith(route)
		default:
			t.Errorf("%s: a %T; make it a vector labelled by route (or teach this test its type)", name, c)
			continue
		}
		if err != nil {
			t.Errorf("%s has no route label: %v", name, err)
		}
	}
}
