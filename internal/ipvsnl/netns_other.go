//go:build !linux

package ipvsnl

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// Open fails: IPVS is a Linux kernel feature. The error wraps ErrNoIPVS.
func Open(o Options) (*Client, error) {
	return nil, fmt.Errorf("ipvs: %s: %w", runtime.GOOS, ErrNoIPVS)
}

func dupFile(int) (*os.File, error) { return nil, errors.New("ipvs: network namespaces need Linux") }

func runInNetNS(*os.File, func() error) error {
	return errors.New("ipvs: network namespaces need Linux")
}
