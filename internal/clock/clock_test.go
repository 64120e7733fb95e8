package clock

import (
	"testing"
	"time"
)

func TestSystemTimer(t *testing.T) {
	var c Clock = System{}
	start := c.Now()
	tm := c.NewTimer(time.Hour)
	tm.Reset(time.Millisecond)
	select {
	case got := <-tm.C():
		if got.Before(start) {
			t.Errorf("fired at %v, before %v", got, start)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a timer reset to 1 ms did not fire")
	}
	tm.Reset(time.Millisecond)
	tm.Stop()
	select {
	case <-tm.C():
		t.Fatal("a stopped timer fired")
	case <-time.After(20 * time.Millisecond):
	}
}
