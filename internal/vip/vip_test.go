package vip

import (
	"errors"
	"testing"
	"time"
)

func TestParseScope(t *testing.T) {
	cases := []struct {
		in      string
		want    uint8
		wantErr bool
	}{
		{"", 0, false},
		{"global", 0, false},
		{"universe", 0, false},
		{"site", 200, false},
		{"link", 253, false},
		{"host", 254, false},
		{"nowhere", 255, false},
		{"42", 42, false},
		{"0xfe", 254, false},
		{"256", 0, true},
		{"-1", 0, true},
		{"galaxy", 0, true},
	}
	for _, tc := range cases {
		got, err := ParseScope(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseScope(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseScope(%q) error %v does not wrap ErrInvalid", tc.in, err)
		}
	}
}

func TestDefaultTiming(t *testing.T) {
	want := Timing{Repeat: 5, Delay: 5 * time.Second, Refresh: 0, RefreshRepeat: 1}
	if got := DefaultTiming(); got != want {
		t.Errorf("DefaultTiming() = %+v, want keepalived's %+v", got, want)
	}
}
