package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/golvs/golvs/internal/director"
)

// Client talks to lvsd over its unix socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client of the lvsd listening on socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}
	return &Client{socket: socket, hc: &http.Client{Transport: tr}}
}

// Snapshot returns the director's table and the engine's counters; conns adds the
// connection entries.
func (c *Client) Snapshot(ctx context.Context, conns bool) (*Snapshot, error) {
	url := "http://lvsd/v1/snapshot"
	if conns {
		url += "?conns=1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	var snap Snapshot
	if err := c.do(req, &snap); err != nil {
		return nil, err
	}
	return &snap, nil
}

// Exec applies ops as one batch. A refusal is an *Error wrapping the lb or engine sentinel
// of its cause, with Index the failing operation.
func (c *Client) Exec(ctx context.Context, ops []director.Op) error {
	body, err := json.Marshal(ExecRequest{Ops: ops})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://lvsd/v1/exec", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, nil)
}

func (c *Client) do(req *http.Request, out any) error {
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("lvsd at %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("lvsd at %s: %w", c.socket, err)
	}
	if resp.StatusCode/100 != 2 {
		var r ErrorReply
		if json.Unmarshal(b, &r) != nil {
			return fmt.Errorf("lvsd at %s: %s", c.socket, resp.Status)
		}
		return r.err()
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("lvsd at %s: bad answer: %w", c.socket, err)
	}
	return nil
}
