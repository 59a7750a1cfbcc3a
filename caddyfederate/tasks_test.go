package caddyfederate

import (
	"strings"
	"testing"
)

// TestAggregateEveryMix checks the task status for every mix of part
// states over three parts: succeeded only when every part succeeded,
// enqueued or processing while any part is, failed (naming the first
// failed part) when the rest is done and any part failed.
func TestAggregateEveryMix(t *testing.T) {
	states := []string{taskEnqueued, taskProcessing, taskSucceeded, taskFailed, taskCanceled}
	n := len(states)
	for code := 0; code < n*n*n; code++ {
		parts := make([]taskPart, 3)
		c := code
		var pending, started, anyFailed, anyCanceled bool
		firstFailed := -1
		for i := range parts {
			parts[i].status = states[c%n]
			c /= n
			switch parts[i].status {
			case taskEnqueued:
				pending = true
			case taskProcessing:
				pending, started = true, true
			case taskFailed:
				started, anyFailed = true, true
				if firstFailed < 0 {
					firstFailed = i
				}
			case taskCanceled:
				started, anyCanceled = true, true
			default:
				started = true
			}
		}
		want, wantFailed := taskSucceeded, -1
		switch {
		case pending && started:
			want = taskProcessing
		case pending:
			want = taskEnqueued
		case anyFailed:
			want, wantFailed = taskFailed, firstFailed
		case anyCanceled:
			want = taskCanceled
		}
		got, failed := aggregate(parts)
		if got != want || failed != wantFailed {
			t.Errorf("%v: got %s (failed part %d), want %s (%d)", statesOf(parts), got, failed, want, wantFailed)
		}
	}
}

func statesOf(parts []taskPart) []string {
	out := make([]string, len(parts))
	for i := range parts {
		out[i] = parts[i].status
	}
	return out
}

// TestTaskObjectNamesShardAndReplica: a failed task's error names the
// shard and the replica's position, never its address; its details add
// up over shards.
func TestTaskObjectNamesShardAndReplica(t *testing.T) {
	tk := &task{uid: 7, index: "movies", typ: "documentAdditionOrUpdate", routed: true, parts: []taskPart{
		{shard: "a", replica: 0, replicas: 2, addr: "10.0.0.1:7700", status: taskSucceeded, details: []byte(`{"receivedDocuments":3,"indexedDocuments":3}`)},
		{shard: "a", replica: 1, replicas: 2, addr: "10.0.0.2:7700", status: taskFailed},
		{shard: "b", replica: 0, replicas: 2, addr: "10.0.0.3:7700", status: taskSucceeded, details: []byte(`{"receivedDocuments":2,"indexedDocuments":2}`)},
		{shard: "b", replica: 1, replicas: 2, addr: "10.0.0.4:7700", status: taskSucceeded, details: []byte(`{"receivedDocuments":2,"indexedDocuments":2}`)},
	}}
	obj := tk.object()
	if obj.Status != taskFailed || obj.Error == nil {
		t.Fatalf("status %s, error %v", obj.Status, obj.Error)
	}
	if msg := obj.Error.Message; !strings.Contains(msg, `shard "a" replica 2 of 2`) || strings.Contains(msg, "10.0.0") {
		t.Errorf("error message %q: want the shard and replica position, no address", msg)
	}
	if string(obj.Details) != `{"indexedDocuments":5,"receivedDocuments":5}` {
		t.Errorf("details %s, want the shards' sums", obj.Details)
	}
	if obj.FinishedAt == nil || obj.Duration == nil || obj.StartedAt == nil {
		t.Errorf("a finished task needs startedAt, finishedAt and duration: %+v", obj)
	}
}
