package consumer

import (
	"github.com/joblet/rtool/schema"
)

// AvailableVersion is one registry version as `runtime list --available`
// and `runtime info` show it.
type AvailableVersion struct {
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Description string   `json:"description,omitempty"`
	Platforms   []string `json:"platforms"`
	// HasArtifact tells whether the version can be installed on the
	// platform asked about.
	HasArtifact bool   `json:"has_artifact"`
	Yanked      string `json:"yanked,omitempty"`
	ReleasedAt  string `json:"released_at,omitempty"`
	Registry    string `json:"registry"`
	// Latest marks the version Joblet's @latest picks (AvailableJoblet
	// only).
	Latest bool `json:"latest,omitempty"`
}

// Available lists every version of every runtime (or of name only, when
// not empty) in the registries, in registry order, names sorted and
// versions in semantic version order. A runtime found in an earlier
// registry hides the same name in later ones, as Resolve would pick it
// there first.
func Available(regs []*Loaded, name, platform string) []AvailableVersion {
	var out []AvailableVersion
	seen := map[string]bool{}
	for _, l := range regs {
		for _, n := range sortedKeys(l.Registry.Runtimes) {
			if (name != "" && n != name) || seen[n] {
				continue
			}
			seen[n] = true
			versions := l.Registry.Runtimes[n]
			for _, v := range schema.SortedVersions(versions) {
				e := versions[v]
				av := AvailableVersion{Name: n, Version: v, Description: e.Description, Platforms: platformsOf(e),
					ReleasedAt: e.ReleasedAt, Registry: l.Where}
				if av.Platforms == nil {
					av.Platforms = []string{}
				}
				_, av.HasArtifact, _ = artifactFor(e, platform)
				if e.Yanked != nil {
					av.Yanked = e.Yanked.Reason
					if av.Yanked == "" {
						av.Yanked = "yanked"
					}
				}
				out = append(out, av)
			}
		}
	}
	return out
}
