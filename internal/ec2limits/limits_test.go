package ec2limits

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	cases := []struct {
		action string
		calls  int
		factor float64
		want   time.Duration
	}{
		{"AuthorizeSecurityGroupIngress", 50, 1, 0},                 // the burst is free
		{"AuthorizeSecurityGroupIngress", 500, 1, 90 * time.Second}, // (500-50)/5
		{"AuthorizeSecurityGroupIngress", 500, 10, 9 * time.Second},
		{"DescribeSecurityGroupRules", 300, 1, 10 * time.Second}, // (300-100)/20
		{"SomethingNew", 120, 0, time.Second},                    // non-mutating; factor 0 means 1
	}
	for _, c := range cases {
		if got := Duration(c.action, c.calls, c.factor); got != c.want {
			t.Errorf("Duration(%s, %d, %v) = %v, want %v", c.action, c.calls, c.factor, got, c.want)
		}
	}
	if got := Slowest(map[string]int{"AuthorizeSecurityGroupIngress": 100, "RevokeSecurityGroupEgress": 200}, 1); got != 30*time.Second {
		t.Errorf("Slowest = %v, want 30s (each action its own bucket)", got)
	}
	if For("RevokeSecurityGroupIngress") != ResourceIntensive || For("CreateTags") != Tags {
		t.Error("wrong categories")
	}
}
