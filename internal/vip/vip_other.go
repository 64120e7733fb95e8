//go:build !linux

package vip

import (
	"context"
	"fmt"
	"time"

	"github.com/vishvananda/netns"

	"github.com/golvs/golvs/internal/config"
)

// Manager adds and removes VIPs; on this platform NewManager never returns one.
type Manager struct{}

// NewManager returns an error wrapping ErrNotSupported: VIP management is Linux-only.
func NewManager(netns.NsHandle) (*Manager, error) {
	return nil, fmt.Errorf("vip: %w on this platform", ErrNotSupported)
}

// Close does nothing.
func (m *Manager) Close() error { return nil }

// Add returns an error wrapping ErrNotSupported.
func (m *Manager) Add(config.VIP) error { return ErrNotSupported }

// Remove returns an error wrapping ErrNotSupported.
func (m *Manager) Remove(config.VIP) error { return ErrNotSupported }

// Has returns an error wrapping ErrNotSupported.
func (m *Manager) Has(config.VIP) (bool, error) { return false, ErrNotSupported }

// SetPromoteSecondaries returns an error wrapping ErrNotSupported.
func (m *Manager) SetPromoteSecondaries(string, bool) (bool, error) { return false, ErrNotSupported }

// Announcer sends announcements; on this platform every call fails.
type Announcer struct {
	Interval time.Duration
}

// NewAnnouncer returns an Announcer whose methods return ErrNotSupported.
func NewAnnouncer(netns.NsHandle) *Announcer { return &Announcer{} }

// Announce returns an error wrapping ErrNotSupported.
func (a *Announcer) Announce(context.Context, []config.VIP) error { return ErrNotSupported }

// Burst returns an error wrapping ErrNotSupported.
func (a *Announcer) Burst(context.Context, []config.VIP, int) error { return ErrNotSupported }

// Master returns an error wrapping ErrNotSupported.
func (a *Announcer) Master(context.Context, []config.VIP, Timing) error { return ErrNotSupported }

// Watch returns an error wrapping ErrNotSupported.
func Watch(context.Context, netns.NsHandle, ...string) (<-chan LinkEvent, error) {
	return nil, fmt.Errorf("vip: %w on this platform", ErrNotSupported)
}

// WatchAddrs returns an error wrapping ErrNotSupported.
func WatchAddrs(context.Context, netns.NsHandle) (<-chan AddrEvent, error) {
	return nil, fmt.Errorf("vip: watch addresses: %w", ErrNotSupported)
}
