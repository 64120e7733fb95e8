// Package nsutil runs code inside a Linux network namespace, so that sockets and netlink
// requests made by that code belong to the namespace.
//
// A socket keeps the namespace it was created in for its whole life, wherever it is later
// used from; only its creation (socket(2), and lookups such as if_nametoindex) must happen
// on a thread that has entered the namespace. Run does exactly that on a dedicated,
// locked OS thread and never changes the namespace of the caller's thread.
package nsutil

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// IsSet reports whether ns names a namespace to enter. The zero handle and netns.None()
// (-1) both mean "the caller's current namespace": descriptor 0 is standard input, never a
// namespace handle, so the zero value of an options struct can safely mean "unset".
func IsSet(ns netns.NsHandle) bool { return ns > 0 }

// Run calls fn on an OS thread that has entered the network namespace ns, then returns
// fn's error. When ns is not set (see IsSet), fn runs directly on the caller's goroutine.
//
// fn must do its namespace-sensitive work synchronously: goroutines it starts run on other
// threads, outside the namespace. Run returns an error wrapping the setns(2) failure when
// the namespace cannot be entered (fn is then not called). If the thread cannot return to
// its original namespace afterwards, it stays locked and is destroyed when Run's goroutine
// exits, so no other goroutine ever runs in the wrong namespace.
func Run(ns netns.NsHandle, fn func() error) error {
	if !IsSet(ns) {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			// Leave the thread locked: it is discarded when this goroutine exits.
			errc <- fmt.Errorf("nsutil: read current network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("nsutil: enter network namespace %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- fmt.Errorf("nsutil: return to original network namespace: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
