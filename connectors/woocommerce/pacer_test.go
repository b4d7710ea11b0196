package woocommerce

import (
	"testing"
)

// The pacing itself is kit.AdaptivePacer's, tested in connectors/kit; the connector only caps it.
func TestMaxRequestRateCapsThePace(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t)
	if r := c.Stats().Rate; r != 0 {
		t.Fatalf("paced at %.1f/s before any 429", r)
	}
	c.SetMaxRequestRate(15)
	if r := c.Stats().Rate; r != 15 {
		t.Errorf("capped pace = %v, want 15", r)
	}
	c.SetMaxRequestRate(0)
	if r := c.Stats().Rate; r != 0 {
		t.Errorf("pace without a cap = %v, want unpaced", r)
	}
}
