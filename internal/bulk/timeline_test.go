package bulk

import (
	"testing"
	"time"
)

// TestAttemptBucket: an attempt counts once, under its outcome, with its latency; a retry
// (an attempt after the first) also counts as one.
func TestAttemptBucket(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		status, attempt int
		want            Bucket
	}{
		{200, 1, Bucket{OK: 1}},
		{204, 2, Bucket{OK: 1, Retries: 1}},
		{0, 1, Bucket{NoAnswer: 1}},
		{429, 3, Bucket{Throttled: 1, Retries: 1}},
		{503, 1, Bucket{ServerError: 1}},
		{404, 1, Bucket{ClientError: 1}},
		{302, 1, Bucket{ClientError: 1}},
		{101, 1, Bucket{ClientError: 1}},
	}
	for _, c := range cases {
		c.want.LatencyMin, c.want.LatencyMax, c.want.LatencySum = 40*ms, 40*ms, 40*ms
		if got := AttemptBucket(c.status, 40*ms, c.attempt); got != c.want {
			t.Errorf("AttemptBucket(%d, 40ms, %d) = %+v, want %+v", c.status, c.attempt, got, c.want)
		}
		if got := AttemptBucket(c.status, 40*ms, c.attempt).Attempts(); got != 1 {
			t.Errorf("status %d: %d attempts, want 1", c.status, got)
		}
	}
}
