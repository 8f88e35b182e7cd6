package consumer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/joblet/rtool/schema"
)

// Install layouts under the runtimes root. Joblet's installer writes
// {root}/{name}/{version}/ and its resolver scans {root}/*/*/runtime.yml
// first and {root}/*/runtime.yml (the older flat {root}/{name}-{version}/)
// as a fallback. rtool installs nested and finds both.
const (
	LayoutNested = "nested"
	LayoutFlat   = "flat"
)

// InstallDir is where name@version is installed under root:
// root/name/version (Joblet's nested layout).
func InstallDir(root, name, version string) string {
	return filepath.Join(root, name, version)
}

// FlatInstallDir is the older flat location root/name-version, still found
// by list, info, run and remove.
func FlatInstallDir(root, name, version string) string {
	return filepath.Join(root, schema.InstallDirName(name, version))
}

// hasRuntimeConfig reports whether dir has an entry named runtime.yml (of
// any type; readRuntimeConfig says what is wrong with it).
func hasRuntimeConfig(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, schema.RuntimeConfigFile))
	return err == nil
}

// scanRoot finds every install candidate under root: a directory holding
// runtime.yml is a flat install; any other directory is a runtime name
// whose subdirectories are nested installs. Names starting with "." (the
// staging directories and locks) are never runtimes. Empty directories
// are skipped; a directory that is neither a runtime nor holds version
// directories is reported as a problem.
func scanRoot(root string) ([]InstalledRuntime, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list %s: %w", root, err)
	}
	var out []InstalledRuntime
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if hasRuntimeConfig(dir) {
			out = append(out, inspectInstall(dir, LayoutFlat, "", ""))
			continue
		}
		subs, err := os.ReadDir(dir)
		if err != nil {
			out = append(out, InstalledRuntime{Dir: dir, Layout: LayoutNested, Problem: err.Error()})
			continue
		}
		found, other := false, false
		for _, s := range subs {
			if strings.HasPrefix(s.Name(), ".") || !s.IsDir() {
				other = true
				continue
			}
			sdir := filepath.Join(dir, s.Name())
			if schema.CheckVersion(s.Name()) != nil && !hasRuntimeConfig(sdir) {
				other = true
				continue
			}
			found = true
			out = append(out, inspectInstall(sdir, LayoutNested, e.Name(), s.Name()))
		}
		if !found && other {
			out = append(out, InstalledRuntime{Dir: dir, Problem: fmt.Sprintf(
				"neither a runtime (no %s here) nor a runtime name holding VERSION/ directories", schema.RuntimeConfigFile)})
		}
	}
	markShadowed(out)
	return out, nil
}

// inspectInstall reads one candidate. For a nested install, name and
// version are its path components, which runtime.yml must repeat; a flat
// directory must be named name-version after its runtime.yml.
func inspectInstall(dir, layout, name, version string) InstalledRuntime {
	ir := InstalledRuntime{Dir: dir, Layout: layout}
	rc, err := readRuntimeConfig(dir)
	if err != nil {
		ir.Problem = err.Error()
		return ir
	}
	ir.Name, ir.Version = rc.Name, rc.Version
	switch layout {
	case LayoutNested:
		if rc.Name != name || rc.Version != version {
			ir.Problem = fmt.Sprintf("directory is %s/%s but %s says %s@%s (Joblet's resolver matches runtime.yml, so it would find this install under that name and version)",
				name, version, schema.RuntimeConfigFile, rc.Name, rc.Version)
			return ir
		}
	default:
		if base := filepath.Base(dir); schema.InstallDirName(rc.Name, rc.Version) != base {
			ir.Problem = fmt.Sprintf("directory is %s but %s says %s", base, schema.RuntimeConfigFile, schema.InstallDirName(rc.Name, rc.Version))
			return ir
		}
	}
	ir.Description = rc.Description
	return ir
}

// markShadowed sets ShadowedBy on every valid flat install whose
// name@version also has a valid nested install: Joblet's resolver and
// rtool pick the nested one.
func markShadowed(list []InstalledRuntime) {
	nested := map[string]string{}
	for _, ir := range list {
		if ir.Problem == "" && ir.Layout == LayoutNested {
			nested[ir.Name+"@"+ir.Version] = ir.Dir
		}
	}
	for i := range list {
		ir := &list[i]
		if ir.Problem == "" && ir.Layout == LayoutFlat {
			ir.ShadowedBy = nested[ir.Name+"@"+ir.Version]
		}
	}
}

// placeInstall renames the verified tree to final (root/name/version),
// creating root/name first. A remover of the last other version may take
// an empty root/name away between the two steps; then it is made again.
func placeInstall(tree, final string) error {
	parent := filepath.Dir(final)
	for attempt := 1; ; attempt++ {
		if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		err := os.Rename(tree, final)
		if err == nil || !errors.Is(err, os.ErrNotExist) || attempt >= 10 {
			return err
		}
		if _, serr := os.Lstat(tree); serr != nil {
			return err
		}
	}
}

// checkNameDir refuses a nested install whose root/name is not a
// directory of versions: a file, or a flat install of another runtime
// (whose directory name happens to be this runtime's name).
func checkNameDir(root, name string) error {
	dir := filepath.Join(root, name)
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is a %s, not a directory of %s versions; move it away", dir, fi.Mode().Type(), name)
	}
	if hasRuntimeConfig(dir) {
		return fmt.Errorf("%s holds a %s (a flat install of another runtime), so %s versions cannot be installed below it; remove that install first",
			dir, schema.RuntimeConfigFile, name)
	}
	return nil
}

// removeEmptyNameDir removes root/name when its last version is gone
// (os.Remove never removes a directory that is not empty).
func removeEmptyNameDir(root, name string) {
	if err := os.Remove(filepath.Join(root, name)); err == nil {
		syncDir(root)
	}
}
