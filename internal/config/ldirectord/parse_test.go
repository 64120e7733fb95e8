package ldirectord

import (
	"errors"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/config"
)

var export = flag.Bool("export", false, "write the table's inputs to testdata/oracle/cases.txt for record.sh")

// allCases is every row of the parser's table.
func allCases() []parseCase {
	var all []parseCase
	for _, t := range [][]parseCase{parseCases, realCases, checkCases, globalCases} {
		all = append(all, t...)
	}
	return all
}

// parseTest parses in as the table does.
func parseTest(in string) (*config.Config, error) {
	return Options{Hostname: "director"}.Parse("t.cf", []byte(in))
}

func TestParseTable(t *testing.T) {
	names := map[string]bool{}
	for _, c := range allCases() {
		if names[c.name] {
			t.Fatalf("two rows named %q", c.name)
		}
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parseTest(c.in)
			if len(c.errs) == 0 {
				if err != nil {
					t.Fatalf("unexpected error:\n%v", err)
				}
			} else {
				var errs config.Errors
				if !errors.As(err, &errs) {
					t.Fatalf("got %v, want config.Errors %q", err, c.errs)
				}
				if len(errs) != len(c.errs) {
					t.Errorf("got %d errors, want %d:\n%v", len(errs), len(c.errs), err)
				}
				for i, want := range c.errs {
					if i < len(errs) && !diagMatches(errs[i], want) {
						t.Errorf("error %d = %q, want %q", i, errs[i].String(), want)
					}
				}
				if cfg != nil {
					t.Errorf("got a config with errors")
				}
				return
			}
			out := dump(cfg)
			for _, want := range c.has {
				if !strings.Contains(out, want) {
					t.Errorf("dump lacks %q:\n%s", want, out)
				}
			}
			for _, bad := range c.not {
				if strings.Contains(out, bad) {
					t.Errorf("dump has %q:\n%s", bad, out)
				}
			}
			for _, want := range c.warns {
				found := false
				for _, w := range cfg.Warnings {
					found = found || diagMatches(w, want)
				}
				if !found {
					t.Errorf("no warning %q in:\n%s", want, out)
				}
			}
		})
	}
	if *export {
		var b strings.Builder
		for _, c := range allCases() {
			if c.unrecorded == "" {
				b.WriteString("-- " + c.name + " --\n" + c.in)
			}
		}
		if err := os.WriteFile("testdata/oracle/cases.txt", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		b.Reset()
		for _, c := range generatedCases(numGenerated) {
			b.WriteString("-- " + c.name + " --\n" + c.in)
		}
		if err := os.WriteFile("testdata/oracle/generated.txt", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// diagMatches reports whether d is at the line want starts with ("LINE: text") and its
// message contains text.
func diagMatches(d config.Diag, want string) bool {
	line, text, _ := strings.Cut(want, ": ")
	n, err := strconv.Atoi(line)
	return err == nil && d.Line == n && d.File == "t.cf" && strings.Contains(d.Msg, text)
}

// TestParseDefaults checks Parse without options: host names do not resolve, service names
// come from the built-in table.
func TestParseDefaults(t *testing.T) {
	cfg, err := Parse("x.cf", []byte("virtual=192.0.2.1:https\n\treal=10.0.0.1:https masq\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Services[0]; s.Port != 443 || s.Reals[0].Port != 443 || s.Reals[0].Checks[0].Kind != config.CheckHTTPS {
		t.Errorf("got %s", dump(cfg))
	}
	if _, err := Parse("x.cf", []byte("virtual=web:80\n")); err == nil || !strings.Contains(err.Error(), "x.cf:1: invalid address for virtual service") {
		t.Errorf("host name: got %v", err)
	}
}
