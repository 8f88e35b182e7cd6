package builder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/joblet/rtool/schema"
)

// PlanOptions selects what rtool build builds.
type PlanOptions struct {
	RuntimesDir string   // directory of runtime definitions (default "runtimes")
	Names       []string // runtime names (or paths to runtime directories)
	All         bool     // every runtime in RuntimesDir
	Platforms   []string // restrict to these; empty: every platform a runtime lists that has a base
	OutDir      string
	Rebuild     bool
}

// Plan expands names × platforms into build requests. A runtime whose
// manifest sets build.base builds every platform on that named base (an
// unknown name, or one without a base for a platform the manifest lists,
// is an error); any other on each platform's default base. Notes explain
// what was left out (a platform without a default base in rtool.yaml, a
// runtime that does not list a requested platform with All).
func (c *Config) Plan(opts PlanOptions) (reqs []Request, notes []string, err error) {
	if opts.RuntimesDir == "" {
		opts.RuntimesDir = "runtimes"
	}
	if opts.All == (len(opts.Names) > 0) {
		return nil, nil, errors.New("name one or more runtimes, or pass --all (not both)")
	}
	dirs := make([]string, 0, len(opts.Names))
	if opts.All {
		names, err := schema.RuntimeNames(opts.RuntimesDir)
		if err != nil {
			return nil, nil, fmt.Errorf("runtimes: %w", err)
		}
		for _, n := range names {
			dirs = append(dirs, filepath.Join(opts.RuntimesDir, n))
		}
		if len(dirs) == 0 {
			return nil, nil, fmt.Errorf("no runtime (directory with manifest.yaml) in %s", opts.RuntimesDir)
		}
	} else {
		for _, n := range opts.Names {
			d := n
			if !strings.ContainsRune(n, filepath.Separator) {
				d = filepath.Join(opts.RuntimesDir, n)
			}
			if _, err := os.Stat(filepath.Join(d, "manifest.yaml")); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil, nil, fmt.Errorf("runtime %s: no %s (runtimes are directories under %s)", n, filepath.Join(d, "manifest.yaml"), opts.RuntimesDir)
				}
				return nil, nil, fmt.Errorf("runtime %s: %w", n, err)
			}
			dirs = append(dirs, d)
		}
	}
	// A platform asked for must have some base; which one a runtime
	// builds on is its manifest's build.base, else the default.
	for _, p := range opts.Platforms {
		if len(c.BaseNames(p)) == 0 {
			if _, err := c.Base(p); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, d := range dirs {
		m, base, err := c.runtimeBaseOf(d)
		if err != nil {
			return nil, nil, err
		}
		// hasBase: the runtime's base exists for p. A named base covers
		// every platform the manifest lists (RuntimeBase checked it).
		hasBase := func(p string) bool {
			if base != schema.DefaultBaseName {
				return true
			}
			_, ok := c.Bases[p]
			return ok
		}
		var plats []string
		if len(opts.Platforms) > 0 {
			for _, p := range opts.Platforms {
				switch {
				case !slices.Contains(m.Platforms, p) && opts.All:
					notes = append(notes, fmt.Sprintf("%s: skipped for %s (not in its platforms)", m.Name, p))
				case !slices.Contains(m.Platforms, p):
					return nil, nil, fmt.Errorf("%s: manifest.yaml does not list platform %s (it lists %s)", d, p, strings.Join(m.Platforms, ", "))
				case hasBase(p):
					plats = append(plats, p)
				case opts.All:
					notes = append(notes, fmt.Sprintf("%s: skipped for %s (no default base for it in %s)", m.Name, p, c.Path))
				default:
					_, err := c.Base(p)
					return nil, nil, fmt.Errorf("%s: %w", d, err)
				}
			}
		} else {
			for _, p := range m.Platforms {
				if hasBase(p) {
					plats = append(plats, p)
				} else {
					notes = append(notes, fmt.Sprintf("%s: skipped for %s (no base for it in %s)", m.Name, p, c.Path))
				}
			}
		}
		sort.Strings(plats)
		for _, p := range slices.Compact(plats) {
			reqs = append(reqs, Request{RuntimeDir: d, Platform: p, OutDir: opts.OutDir, Rebuild: opts.Rebuild})
		}
	}
	return reqs, notes, nil
}
