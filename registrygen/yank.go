package registrygen

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/joblet/rtool/schema"
)

// Yank returns r with name@version marked yanked (reason and date kept).
// The entry stays in the registry, installable by exact version; @latest
// and ranges skip it. Yanking a yanked version changes nothing: its first
// reason and date are kept. r is not modified.
func Yank(r *schema.Registry, name, version, reason string, now time.Time) (*schema.Registry, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, fmt.Errorf("yank %s@%s: give a reason (it is kept in the registry for users)", name, version)
	}
	versions, ok := r.Runtimes[name]
	if !ok {
		return nil, fmt.Errorf("yank %s@%s: runtime %q is not in the registry (it has %s)", name, version, name, listSome(sortedKeys(r.Runtimes)))
	}
	e := versions[version]
	if e == nil {
		return nil, fmt.Errorf("yank %s@%s: version %q of %s is not in the registry (it has %s)", name, version, version, name, listSome(schema.SortedVersions(versions)))
	}
	if e.Yanked != nil {
		return r, nil
	}
	if now.IsZero() {
		now = time.Now()
	}
	date := FormatTime(now)
	ne := cloneEntry(e)
	ne.Yanked = &schema.Yank{Reason: reason, Date: date}
	out := *r
	out.Runtimes = maps.Clone(r.Runtimes)
	out.Runtimes[name] = maps.Clone(versions)
	out.Runtimes[name][version] = ne
	out.UpdatedAt = latest(r.UpdatedAt, date)
	return &out, nil
}

// listSome renders up to ten items for a message.
func listSome(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	if len(items) > 10 {
		return strings.Join(items[:10], ", ") + fmt.Sprintf(" and %d more", len(items)-10)
	}
	return strings.Join(items, ", ")
}
