package nsutil_test

import (
	"errors"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/golvs/golvs/internal/nstest"
	"github.com/golvs/golvs/internal/nsutil"
)

func TestRunUnset(t *testing.T) {
	for _, ns := range []netns.NsHandle{0, netns.None()} {
		if nsutil.IsSet(ns) {
			t.Errorf("IsSet(%d) = true", ns)
		}
		want := errors.New("from fn")
		if err := nsutil.Run(ns, func() error { return want }); err != want {
			t.Errorf("Run(%d) = %v, want fn's error", ns, err)
		}
	}
}

func TestRunInNamespace(t *testing.T) {
	lab := nstest.New(t, "nsutil")
	ns := lab.NS()
	before, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	var inside netns.NsHandle
	if err := nsutil.Run(ns.Handle, func() error {
		var err error
		inside, err = netns.Get()
		return err
	}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	defer inside.Close()
	if !inside.Equal(ns.Handle) {
		t.Errorf("fn ran in %s, want %s", inside, ns.Handle)
	}
	after, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	if !after.Equal(before) {
		t.Errorf("caller's thread moved from %s to %s", before, after)
	}
	if err := nsutil.Run(netns.NsHandle(1<<20), func() error { return nil }); err == nil {
		t.Error("Run with a bad handle succeeded")
	}
}
