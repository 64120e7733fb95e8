package director

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/golvs/golvs/internal/lb"
)

// Store keeps the table in a JSON file so that a restart of lvsd loses nothing. Save writes a
// temporary file beside Path, fsyncs it, renames it over Path and fsyncs the directory, so a
// crash leaves either the old or the new table, never a torn one.
type Store struct {
	Path string
}

// storeVersion is the format version written into the file.
const storeVersion = 1

type storeFile struct {
	Version int       `json:"version"`
	State   *lb.State `json:"state"`
}

// Load reads the table. A missing file is not an error: it returns (nil, nil).
func (s *Store) Load() (*lb.State, error) {
	b, err := os.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read saved table: %w", err)
	}
	var f storeFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("saved table %s: %w", s.Path, err)
	}
	if f.Version != storeVersion || f.State == nil {
		return nil, fmt.Errorf("saved table %s: unknown format version %d", s.Path, f.Version)
	}
	return f.State, nil
}

// Save writes st atomically.
func (s *Store) Save(st *lb.State) error {
	b, err := json.MarshalIndent(storeFile{Version: storeVersion, State: st}, "", " ")
	if err != nil {
		return fmt.Errorf("encode table: %w", err)
	}
	dir := filepath.Dir(s.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save table: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(s.Path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save table: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save table: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save table: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save table: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.Path); err != nil {
		return fmt.Errorf("save table: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("save table: sync %s: %w", dir, err)
		}
	}
	return nil
}
