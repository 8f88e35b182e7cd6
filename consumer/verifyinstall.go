package consumer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/joblet/rtool/schema"
)

// Install check statuses.
const (
	CheckOK         = "ok"         // the tree is exactly what its install record says
	CheckModified   = "modified"   // files differ from the record (Differences)
	CheckUnverified = "unverified" // no install record: nothing to check against
	CheckDamaged    = "damaged"    // the record or runtime.yml is unreadable or wrong
)

// InstallCheck is what VerifyInstall found for one install.
type InstallCheck struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Dir     string `json:"dir"`
	Layout  string `json:"layout,omitempty"`
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	// From the install record.
	Checksum    string `json:"checksum,omitempty"`
	Registry    string `json:"registry,omitempty"`
	InstalledAt string `json:"installed_at,omitempty"`
	Digest      string `json:"digest,omitempty"`
	// Files is how many files were re-hashed.
	Files       int              `json:"files"`
	Differences []TreeDifference `json:"differences"`
}

// OK reports whether the install is exactly what its record says.
func (c *InstallCheck) OK() bool { return c.Status == CheckOK }

// VerifyInstall re-hashes the install spec names under root (an exact
// version: ROOT/NAME/VERSION, else the flat ROOT/NAME-VERSION; another
// spec: the install FindInstalled picks) against its install record and
// lists every file that is missing, extra or different (type, mode, size,
// content, symlink target). It waits for an installer of that version to
// finish. The error is for an install that cannot be found or read;
// findings are in the check.
func VerifyInstall(ctx context.Context, root string, spec Spec) (*InstallCheck, error) {
	var dir, layout, version string
	if spec.Kind == Exact {
		version = spec.Version
		for _, c := range []struct{ dir, layout string }{
			{InstallDir(root, spec.Name, spec.Version), LayoutNested},
			{FlatInstallDir(root, spec.Name, spec.Version), LayoutFlat},
		} {
			if fi, err := os.Lstat(c.dir); err == nil && fi.IsDir() {
				dir, layout = c.dir, c.layout
				break
			} else if err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		}
		if dir == "" {
			return nil, fmt.Errorf("%s@%s is not installed in %s (neither %s nor %s exists)", spec.Name, spec.Version, root,
				InstallDir(root, spec.Name, spec.Version), FlatInstallDir(root, spec.Name, spec.Version))
		}
	} else {
		ir, err := FindInstalled(root, spec)
		if err != nil {
			return nil, err
		}
		dir, layout, version = ir.Dir, ir.Layout, ir.Version
	}
	c := verifyDir(ctx, root, dir, layout, spec.Name, version)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &c, nil
}

// VerifyAllInstalls checks every install under root (ListInstalled's,
// both layouts): valid ones as VerifyInstall does, the others reported
// damaged with ListInstalled's problem.
func VerifyAllInstalls(ctx context.Context, root string) ([]InstallCheck, error) {
	all, err := ListInstalled(root)
	if err != nil {
		return nil, err
	}
	out := make([]InstallCheck, 0, len(all))
	for _, ir := range all {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name, version := ir.Name, ir.Version
		if ir.Problem != "" && ir.Layout == LayoutNested {
			// The path says what it should be: compare it with its record.
			name, version = filepath.Base(filepath.Dir(ir.Dir)), filepath.Base(ir.Dir)
		}
		if ir.Problem != "" && (schema.CheckName(name) != nil || schema.CheckVersion(version) != nil) {
			out = append(out, InstallCheck{Name: ir.Name, Version: ir.Version, Dir: ir.Dir, Layout: ir.Layout,
				Status: CheckDamaged, Message: ir.Problem, Differences: []TreeDifference{}})
			continue
		}
		c := verifyDir(ctx, root, ir.Dir, ir.Layout, name, version)
		if ir.Problem != "" && c.Status == CheckOK {
			c.Status, c.Message = CheckDamaged, ir.Problem
		}
		out = append(out, c)
	}
	return out, nil
}

// verifyDir checks one install directory against its record.
func verifyDir(ctx context.Context, root, dir, layout, name, version string) InstallCheck {
	c := InstallCheck{Name: name, Version: version, Dir: dir, Layout: layout, Differences: []TreeDifference{}}
	if unlock, err := lockKey(ctx, root, schema.InstallDirName(name, version), nil); err == nil {
		// Not while an installer replaces it; a root this user cannot
		// write (no lock file) is read without the lock.
		defer unlock()
	}
	rec, err := ReadInstallRecord(dir)
	if errors.Is(err, errNoRecord) {
		c.Status = CheckUnverified
		c.Message = fmt.Sprintf("no install record (%s): installed by an rtool older than install records or by another installer, so there is nothing to check it against; rtool runtime install --force %s@%s installs it again with one", RecordFile, name, version)
		return c
	}
	if err != nil {
		c.Status, c.Message = CheckDamaged, err.Error()
		return c
	}
	c.Checksum, c.Registry, c.InstalledAt, c.Digest = rec.Checksum, rec.Registry, rec.InstalledAt, rec.Digest
	if rec.Name != name || rec.Version != version {
		c.Status = CheckDamaged
		c.Message = fmt.Sprintf("the install record is for %s@%s, but the install is %s@%s", rec.Name, rec.Version, name, version)
		return c
	}
	got, err := scanTree(ctx, dir, scanOptions{hash: true})
	if err != nil {
		c.Status, c.Message = CheckDamaged, fmt.Sprintf("reading the install failed: %v", err)
		return c
	}
	for _, e := range got {
		if e.Type == entryFile {
			c.Files++
		}
	}
	c.Differences = compareTree(rec.Entries, got)
	switch _, terr := VerifyTree(dir, name, version); {
	case len(c.Differences) > 0:
		c.Status = CheckModified
		c.Message = fmt.Sprintf("%d difference(s) from the install record", len(c.Differences))
		if terr != nil {
			c.Message += fmt.Sprintf("; and %v", terr)
		}
	case terr != nil:
		c.Status, c.Message = CheckDamaged, terr.Error()
	default:
		c.Status = CheckOK
	}
	return c
}
