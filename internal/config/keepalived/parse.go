package keepalived

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/golvs/golvs/internal/config"
)

// Options tune how a file is read.
type Options struct {
	// ConfigID is keepalived's config id (its -i option), which '@ID' lines are compared
	// with: "@ID line" is read only when ID equals ConfigID, "@^ID line" only when it does
	// not. keepalived's default is the host name up to its first dot; lvsd passes that. With
	// "" no '@ID' line is read and every '@^ID' line is. Skipped lines are reported as
	// warnings.
	ConfigID string
}

// maxIncludeDepth bounds nested includes (and include cycles).
const maxIncludeDepth = 32

// ParseFile reads the keepalived.conf at path (and what it includes) from the local file
// system. Diagnostics name files by their absolute paths. See Parse.
func ParseFile(path string, opts Options) (*config.Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	name := strings.TrimPrefix(filepath.ToSlash(abs), "/")
	return parse(os.DirFS("/"), name, "/", opts)
}

// Parse reads the file name of fsys and the files it includes, and returns the
// configuration it describes. fsys stands for the root of the file system: an absolute
// include path is looked up from its root, a relative one from the directory of the file
// that includes it (as keepalived does). Diagnostics name files as fsys names them.
//
// The result always carries the warnings found (Config.Warnings). When the file has
// errors, Parse returns them all as a config.Errors, each with its file and line, together
// with the partial Config, which must not be applied. Other errors (the main file cannot
// be read) are returned as they are, with a nil Config.
//
// The Config is resolved: every service of a virtual_server_group is its own Service with
// Group set; every real has its forwarding method, port and weight; every check has its
// Interval, Timeout, Retries, RetryDelay and Warmup taken from the checker, else the real
// server, else the virtual server, else keepalived's default (see resolve.go for each
// default and where keepalived sets it); VRRP instances have their priority, advert
// interval, version and garp delay. Script commands (notify_*, quorum_*, misc_path,
// vrrp_script script) are kept as written, without the outer quotes; config.SplitCommand splits
// one into the argument vector keepalived would exec.
func Parse(fsys fs.FS, name string, opts Options) (*config.Config, error) {
	return parse(fsys, name, "", opts)
}

func parse(fsys fs.FS, name, prefix string, opts Options) (*config.Config, error) {
	if _, err := fs.Stat(fsys, name); err != nil {
		return nil, err
	}
	p := &parser{cfg: &config.Config{}, opts: opts, groups: map[string]*vsGroup{}}
	r := &reader{fsys: fsys, prefix: prefix, opts: opts, d: &p.d, defs: map[string]string{}}
	r.readFile(name, 0)
	stmts := build(r.lines, &p.d)
	p.top(stmts)
	p.resolve()
	p.cfg.Warnings = p.d.warns
	if len(p.d.errs) > 0 {
		return p.cfg, p.d.errs
	}
	return p.cfg, nil
}

// diags collects warnings and errors in file order.
type diags struct {
	warns []config.Diag
	errs  config.Errors
}

func (d *diags) errf(pos config.Pos, format string, a ...any) {
	d.errs = append(d.errs, config.Diag{Pos: pos, Msg: fmt.Sprintf(format, a...)})
}

func (d *diags) warnf(pos config.Pos, format string, a ...any) {
	d.warns = append(d.warns, config.Diag{Pos: pos, Msg: fmt.Sprintf(format, a...)})
}
