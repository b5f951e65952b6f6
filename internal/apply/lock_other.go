//go:build !unix

package apply

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("locked")

// lockFile does nothing where flock is not available: the directory is then not protected
// against a second run (README: "Decisions where the spec is silent").
func lockFile(*os.File) error { return nil }
