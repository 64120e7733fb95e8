package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/golvs/golvs/internal/director"
	"github.com/golvs/golvs/internal/engine"
)

// maxBody bounds a request body (a restore of many thousand rules fits).
const maxBody = 64 << 20

// Server serves the API for one director and its engine.
type Server struct {
	dir *director.Director
	eng engine.Engine
	log *slog.Logger
	mux *http.ServeMux
}

// NewServer returns the API of d, whose data plane is eng.
func NewServer(d *director.Director, eng engine.Engine, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{dir: d, eng: eng, log: log, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /v1/snapshot", s.snapshot)
	s.mux.HandleFunc("POST /v1/exec", s.exec)
	return s
}

// Handle registers another handler on the API's mux (metrics, dashboard).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// ListenUnix listens on a unix socket at path, replacing a stale socket file, readable and
// writable by the owner only (0600). The socket is created under the process umask and then
// narrowed; lvsd sets umask 077 at start so that there is no window in between.
func ListenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("listen %s: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen %s: another lvsd is serving it", path)
		}
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	return ln, nil
}

// Serve serves ln until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

func (s *Server) snapshot(w http.ResponseWriter, r *http.Request) {
	st, err := s.dir.State(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	snap := Snapshot{Engine: s.eng.Name(), State: st}
	if snap.Counters, err = s.eng.Counters(); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if sy, ok := s.eng.(engine.Syncer); ok {
		if snap.Daemons, err = sy.Daemons(); err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
	}
	if r.URL.Query().Get("conns") == "1" {
		if snap.Conns, err = s.eng.Conns(); err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, snap)
}

func (s *Server) exec(w http.ResponseWriter, r *http.Request) {
	var req ExecRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("exec: bad request body: %w", err))
		return
	}
	if err := s.dir.Exec(r.Context(), req.Ops); err != nil {
		s.log.Info("lvsadm change refused", "ops", len(req.Ops), "err", err)
		writeError(w, http.StatusConflict, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, replyFor(err))
}
