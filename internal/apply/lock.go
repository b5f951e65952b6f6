package apply

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/report"
)

// LockName is the lock file's name inside a report directory.
const LockName = ".polarity-bulk.lock"

// ErrLocked means another process holds the report directory.
var ErrLocked = errors.New("report directory in use")

// LockedError is ErrLocked with the directory and, when it could be read, the process holding
// the lock.
type LockedError struct {
	Dir string
	PID int // 0 when unknown
}

func (e *LockedError) Error() string {
	who := "another polarity-bulk run"
	if e.PID > 0 {
		who += fmt.Sprintf(" (process %d)", e.PID)
	}
	return fmt.Sprintf("report directory %s is in use by %s", e.Dir, who)
}

// Is makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// DirLock is an exclusive lock on a report directory, held for the whole run so that two runs
// (two --resume of one directory, say) never send the same PATCHes into one journal.
type DirLock struct {
	f *os.File
}

// LockDir takes the exclusive lock of dir, creating dir when needed, without waiting: when
// another process holds it, LockDir fails at once with a *LockedError naming that process.
// The lock is the kernel's (flock on a file in dir), so it goes away with the process that
// held it, however that process ended; the file stays, and holds the process id of the last
// holder for the error message.
func LockDir(dir string) (*DirLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create report directory: %w", err)
	}
	path := filepath.Join(dir, LockName)
	f, err := report.OpenRegular(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock report directory: %w", err)
	}
	if err := lockFile(f); err != nil {
		pid := readPID(f)
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, &LockedError{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("lock report directory %s: %w", dir, err)
	}
	// Only the holder writes its id: a reader racing with this sees an empty file, no more.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &DirLock{f: f}, nil
}

// Unlock releases the lock. The lock also goes when the process ends.
func (l *DirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	return err
}

func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
