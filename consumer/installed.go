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

// InstalledRuntime is one directory under the install root.
type InstalledRuntime struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	Dir         string `json:"dir"`
	// Problem is set when the directory is not a valid install (its
	// runtime.yml is missing or does not match the directory name).
	Problem string `json:"problem,omitempty"`
}

// ListInstalled returns the runtimes installed under root, sorted by name
// and version. Directories starting with "." (staging, locks) are skipped;
// a missing root is an empty list.
func ListInstalled(root string) ([]InstalledRuntime, error) {
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
		ir := InstalledRuntime{Dir: dir}
		rc, err := readRuntimeConfig(dir)
		switch {
		case err != nil:
			ir.Problem = err.Error()
		case schema.InstallDirName(rc.Name, rc.Version) != e.Name():
			ir.Name, ir.Version = rc.Name, rc.Version
			ir.Problem = fmt.Sprintf("directory is %s but %s says %s", e.Name(), schema.RuntimeConfigFile, schema.InstallDirName(rc.Name, rc.Version))
		default:
			ir.Name, ir.Version, ir.Description = rc.Name, rc.Version, rc.Description
		}
		out = append(out, ir)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		vi, ei := semver.StrictNewVersion(out[i].Version)
		vj, ej := semver.StrictNewVersion(out[j].Version)
		if ei == nil && ej == nil {
			return vi.LessThan(vj)
		}
		return out[i].Dir < out[j].Dir
	})
	return out, nil
}

// FindInstalled resolves spec among the valid installs under root: name or
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
		if all[i].Problem == "" && all[i].Name == spec.Name {
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

// Remove deletes the install of name@version under root, under the
// version's lock: the directory is first renamed to a staging name (so a
// crash leaves a leftover that the next run cleans, never a half-removed
// install), then removed.
func Remove(ctx context.Context, root, name, version string) (string, error) {
	if err := schema.CheckName(name); err != nil {
		return "", err
	}
	if err := schema.CheckVersion(version); err != nil {
		return "", err
	}
	key := schema.InstallDirName(name, version)
	final := filepath.Join(root, key)
	if _, err := os.Lstat(final); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s@%s is not installed in %s", name, version, root)
		}
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(root, locksDir), 0o755); err != nil {
		return "", err
	}
	unlock, err := lockKey(ctx, root, key, nil)
	if err != nil {
		return "", err
	}
	defer unlock()
	staging, err := newStaging(root, key)
	if err != nil {
		return "", err
	}
	if err := os.Rename(final, filepath.Join(staging, "old")); err != nil {
		os.Remove(staging)
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s@%s is not installed in %s", name, version, root)
		}
		return "", fmt.Errorf("remove %s: %w", final, err)
	}
	syncDir(root)
	if err := os.RemoveAll(staging); err != nil {
		return final, fmt.Errorf("remove %s: %w (the install is gone; the leftover is cleaned by the next install)", final, err)
	}
	return final, nil
}
