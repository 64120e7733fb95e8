//go:build !linux

package proxy

import (
	"fmt"

	"github.com/golvs/golvs/internal/engine"
)

// newReactor refuses: the reactor is built on epoll.
func newReactor(*Engine) (tcpPath, error) {
	return nil, fmt.Errorf("proxy engine: %w", engine.NotSupported("data path reactor", "Linux (epoll)"))
}
