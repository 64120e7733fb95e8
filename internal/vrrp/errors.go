package vrrp

import (
	"errors"
	"fmt"
)

// Errors of Parse and Marshal. Every error the codec returns wraps exactly one of them, so
// callers classify with errors.Is; the message names the offending value.
var (
	// ErrTruncated: the message is shorter than its header and address count need.
	ErrTruncated = errors.New("vrrp: truncated message")
	// ErrCountMismatch: the message is longer than its address count says (keepalived:
	// "vrrp packet too long").
	ErrCountMismatch = errors.New("vrrp: address count does not match message length")
	// ErrBadVersion: the version is neither 2 nor 3, or VRRPv2 is used with IPv6.
	ErrBadVersion = errors.New("vrrp: bad version")
	// ErrBadType: the type is not 1 (ADVERTISEMENT), the only type VRRP defines.
	ErrBadType = errors.New("vrrp: bad type")
	// ErrBadAuthType: a VRRPv2 authentication type other than 0, 1 or 2.
	ErrBadAuthType = errors.New("vrrp: bad authentication type")
	// ErrBadChecksum: the checksum does not verify; the error is a *ChecksumError.
	ErrBadChecksum = errors.New("vrrp: bad checksum")
	// ErrAddrFamily: source, destination and virtual addresses are not of one family, or
	// the source or destination is missing where the checksum needs it.
	ErrAddrFamily = errors.New("vrrp: address family mismatch")
	// ErrBadField: Marshal was given a value that does not fit its wire field.
	ErrBadField = errors.New("vrrp: value does not fit its field")
)

// ChecksumError reports a checksum that does not verify: Got is the field as received,
// Want the checksum of the message with that field zeroed.
type ChecksumError struct {
	Version   int
	Got, Want uint16
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("vrrp: bad VRRPv%d checksum: got %#04x, want %#04x", e.Version, e.Got, e.Want)
}

// Unwrap makes errors.Is(err, ErrBadChecksum) true.
func (e *ChecksumError) Unwrap() error { return ErrBadChecksum }
