package conntrack

import (
	"runtime"
	"testing"
)

// TestMemoryPerEntry guards the memory budget: at most 128 bytes per entry at a million
// entries, index and wheel included (live heap after GC).
func TestMemoryPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a million entries")
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	tb, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range benchN {
		if _, err := tb.Insert(benchKey(i), benchDest(i), 0); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	per := float64(m1.HeapAlloc-m0.HeapAlloc) / benchN
	t.Logf("%.1f bytes per entry at %d entries", per, tb.Len())
	if per > 128 {
		t.Errorf("%.1f bytes per entry, budget 128", per)
	}
	runtime.KeepAlive(tb)
}
