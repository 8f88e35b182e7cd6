package consumer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/joblet/rtool/schema"
)

// InstalledRuntime is one install under the root: root/name/version/
// (nested, Joblet's layout) or the older root/name-version/ (flat).
type InstalledRuntime struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	Dir         string `json:"dir"`
	// Layout is LayoutNested or LayoutFlat ("" for a directory that is
	// neither).
	Layout string `json:"layout,omitempty"`
	// ShadowedBy is set on a flat install whose name@version is also
	// installed nested: the nested directory, which rtool and Joblet use.
	ShadowedBy string `json:"shadowed_by,omitempty"`
	// Problem is set when the directory is not a valid install (its
	// runtime.yml is missing or does not match the directory's path).
	Problem string `json:"problem,omitempty"`
}

// ListInstalled returns the installs under root in both layouts, sorted
// by name and version, nested before flat. Directories starting with "."
// (staging, locks) are skipped; a missing root is an empty list.
func ListInstalled(root string) ([]InstalledRuntime, error) {
	out, err := scanRoot(root)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		vi, ei := semver.StrictNewVersion(out[i].Version)
		vj, ej := semver.StrictNewVersion(out[j].Version)
		if ei == nil && ej == nil && !vi.Equal(vj) {
			return vi.LessThan(vj)
		}
		if out[i].Layout != out[j].Layout && out[i].Name != "" {
			return out[i].Layout == LayoutNested
		}
		return out[i].Dir < out[j].Dir
	})
	return out, nil
}

// FindInstalled resolves spec among the valid installs under root (a flat
// install shadowed by a nested one of the same version is skipped): name or
// name@latest is the highest installed stable version (or the highest
// pre-release when only pre-releases are installed), name@X.Y.Z exact, a
// range the highest installed match.
func FindInstalled(root string, spec Spec) (*InstalledRuntime, error) {
	all, err := ListInstalled(root)
	if err != nil {
		return nil, err
	}
	var have []*InstalledRuntime
	var versions []string
	for i := range all {
		if all[i].Problem == "" && all[i].ShadowedBy == "" && all[i].Name == spec.Name {
			have = append(have, &all[i])
			versions = append(versions, all[i].Version)
		}
	}
	if len(have) == 0 {
		var names []string
		for _, r := range all {
			if r.Problem == "" {
				names = append(names, r.Name)
			}
		}
		msg := fmt.Sprintf("runtime '%s' is not installed in %s", spec.Name, root)
		if c := closeNames(spec.Name, names); len(c) > 0 {
			// a likely typo: suggest the installed names, not installing the typo
			return nil, fmt.Errorf("%s; did you mean %s?", msg, strings.Join(c, ", "))
		}
		return nil, fmt.Errorf("%s (install it with: rtool runtime install %s)", msg, spec)
	}
	var best, bestPre *InstalledRuntime
	var bestV, bestPreV *semver.Version
	for _, r := range have {
		v, err := semver.StrictNewVersion(r.Version)
		if err != nil {
			continue
		}
		switch spec.Kind {
		case Exact:
			if r.Version == spec.Version {
				return r, nil
			}
			continue
		case Range:
			if !spec.Constraint.Check(v) {
				continue
			}
		}
		if v.Prerelease() != "" && spec.Kind == Latest {
			if bestPreV == nil || v.GreaterThan(bestPreV) {
				bestPre, bestPreV = r, v
			}
			continue
		}
		if bestV == nil || v.GreaterThan(bestV) {
			best, bestV = r, v
		}
	}
	if best == nil {
		best = bestPre
	}
	if best == nil {
		schema.SortVersionStrings(versions)
		return nil, fmt.Errorf("no installed version of '%s' matches %s; installed: %s", spec.Name, spec, strings.Join(versions, ", "))
	}
	return best, nil
}

// Remove deletes name@version under root in both layouts (root/name/version
// and the flat root/name-version), under the version's lock: each directory
// is first renamed into a staging directory (so a crash leaves a leftover
// that the next install cleans, never a half-removed install), then
// removed; root/name goes too once its last version is gone. It returns the
// directories removed.
func Remove(ctx context.Context, root, name, version string) ([]string, error) {
	if err := schema.CheckName(name); err != nil {
		return nil, err
	}
	if err := schema.CheckVersion(version); err != nil {
		return nil, err
	}
	key := schema.InstallDirName(name, version)
	dirs := []string{InstallDir(root, name, version), FlatInstallDir(root, name, version)}
	notInstalled := fmt.Errorf("%s@%s is not installed in %s (neither %s nor %s exists)", name, version, root, dirs[0], dirs[1])
	present := false
	for _, d := range dirs {
		if _, err := os.Lstat(d); err == nil {
			present = true
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	if !present {
		return nil, notInstalled
	}
	if err := os.MkdirAll(filepath.Join(root, locksDir), 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockKey(ctx, root, key, nil)
	if err != nil {
		return nil, err
	}
	defer unlock()
	staging, err := newStaging(root, key)
	if err != nil {
		return nil, err
	}
	var removed []string
	for i, d := range dirs {
		if err := os.Rename(d, filepath.Join(staging, []string{LayoutNested, LayoutFlat}[i])); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			syncDir(root)
			os.RemoveAll(staging)
			if len(removed) > 0 {
				return removed, fmt.Errorf("removed %s, but not %s: %w", strings.Join(removed, ", "), d, err)
			}
			return nil, fmt.Errorf("remove %s: %w", d, err)
		}
		removed = append(removed, d)
	}
	if len(removed) == 0 {
		os.Remove(staging)
		return nil, notInstalled
	}
	syncDir(filepath.Dir(dirs[0]))
	syncDir(root)
	removeEmptyNameDir(root, name)
	if err := os.RemoveAll(staging); err != nil {
		return removed, fmt.Errorf("remove %s: %w (the install is gone; the leftover is cleaned by the next install)", strings.Join(removed, ", "), err)
	}
	return removed, nil
}
