package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"/bin/notify", []string{"/bin/notify"}, ""},
		{"  /bin/notify  up\t10.0.0.1 ", []string{"/bin/notify", "up", "10.0.0.1"}, ""},
		{`/bin/notify "two words" 'single quoted'`, []string{"/bin/notify", "two words", "single quoted"}, ""},
		{`a"b c"d`, []string{"ab cd"}, ""},
		{`x "" y`, []string{"x", "", "y"}, ""},
		{`a\ b c\"d`, []string{"a b", `c"d`}, ""},
		{`"in \"quotes\""`, []string{`in "quotes"`}, ""},
		{`'it\'s'`, []string{"it's"}, ""},
		{`\t\n\x41\101\cA\E\z`, []string{"\t\nAA\x01\x1bz"}, ""},
		{"sh -c 'a | b; c'", []string{"sh", "-c", "a | b; c"}, ""},
		{"a | b", []string{"a", "|", "b"}, ""},
		{`trailing\`, []string{`trailing\`}, ""},
		{`"unterminated`, nil, `missing terminating "`},
		{`'unterminated`, nil, `missing terminating '`},
		{"   ", nil, "empty command"},
	}
	for _, tt := range tests {
		got, err := SplitCommand(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("SplitCommand(%q) error %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
