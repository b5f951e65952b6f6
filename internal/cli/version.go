package cli

import (
	"context"
	"fmt"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v1.2.3"; otherwise the
// module version from the build info is used.
var Version = ""

// Revision is the VCS revision, set like Version when the build has no VCS information.
var Revision = ""

const versionExample = `Prints the version, the VCS revision it was built from, and the Go version.

Example:
  polarity-bulk version`

func runVersion(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlagSet(stdio, "version", "version", versionExample)
	pos, err := parse(fs, args, stdio)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("version takes no arguments", "version: unexpected argument %q", pos[0])
	}
	fmt.Fprintln(stdio.Out, versionString())
	return nil
}

// versionString is "polarity-bulk VERSION (REVISION, goX.Y)".
func versionString() string {
	gov := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		gov = bi.GoVersion
	}
	rev, dirty := vcsRevision()
	if rev == "" {
		rev = "unknown revision"
	} else if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return fmt.Sprintf("polarity-bulk %s (%s, %s)", toolVersion(), rev, gov)
}

// toolRevision is the full VCS revision the binary was built from ("" when unknown), with
// "+dirty" when it was built from a modified work tree. plan.json records it next to the
// version, so that apply --plan can tell two builds of the same version name apart.
func toolRevision() string {
	rev, dirty := vcsRevision()
	if rev != "" && dirty {
		rev += "+dirty"
	}
	return rev
}

// vcsRevision is the revision the binary was built from (Revision, else the build info's;
// "" when unknown) and whether the work tree was modified.
func vcsRevision() (rev string, dirty bool) {
	rev = Revision
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if rev == "" {
					rev = s.Value
				}
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	return rev, dirty
}

// toolVersion is the short version recorded in plans and reports.
func toolVersion() string {
	v := Version
	if v == "" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return v
}
