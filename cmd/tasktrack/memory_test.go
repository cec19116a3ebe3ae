package main

import (
	"os"
	"testing"
)

// TestDefaultGCPercent: serve runs the collector at serveGCPercent unless
// GOGC is set, even to Go's own default.
func TestDefaultGCPercent(t *testing.T) {
	t.Setenv("GOGC", "100")
	if pct, ok := defaultGCPercent(); ok {
		t.Errorf("with GOGC=100 set: %d, want the environment's", pct)
	}
	os.Unsetenv("GOGC") // t.Setenv puts it back afterwards
	if pct, ok := defaultGCPercent(); !ok || pct != serveGCPercent || pct <= 100 {
		t.Errorf("without GOGC: %d, %v; want %d, above Go's 100", pct, ok, serveGCPercent)
	}
}
