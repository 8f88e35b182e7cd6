package registrygen

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/joblet/rtool/schema"
)

var upstreamPlatforms = []string{"ubuntu-amd64", "ubuntu-arm64", "rhel-amd64", "rhel-arm64", "amzn-amd64", "amzn-arm64"}

// fakeChecksum is a deterministic checksum for generated entries.
func fakeChecksum(parts ...string) string {
	h := sha256.Sum256([]byte(fmt.Sprint(parts)))
	return schema.ChecksumPrefix + hex.EncodeToString(h[:])
}

// upstreamEntry builds an entry shaped like upstream's.
func upstreamEntry(name, version string) *schema.RegistryEntry {
	return &schema.RegistryEntry{
		Version:     version,
		Description: "Runtime " + name,
		DownloadURL: fmt.Sprintf("https://github.com/ehsaniara/joblet-runtimes/releases/download/%s@%s/%s-%s.tar.gz", name, version, name, version),
		Checksum:    fakeChecksum(name, version),
		Size:        int64(5000 + len(name)*31 + len(version)*7),
		Platforms:   append([]string(nil), upstreamPlatforms...),
	}
}

// rtoolEntry builds an entry as rtool writes it: released_at and two
// per-platform artifacts.
func rtoolEntry(name, version string, released time.Time) *schema.RegistryEntry {
	e := upstreamEntry(name, version)
	e.ReleasedAt = FormatTime(released)
	e.Artifacts = map[string]*schema.Artifact{}
	for _, p := range upstreamPlatforms[:2] {
		e.Artifacts[p] = &schema.Artifact{
			DownloadURL:  fmt.Sprintf("https://github.com/ehsaniara/joblet-runtimes/releases/download/%s@%s/%s", name, version, schema.ArtifactName(name, version, p)),
			Checksum:     fakeChecksum(name, version, p),
			Size:         123456789,
			UnpackedSize: 987654321,
			Entries:      4321,
		}
	}
	return e
}

// generateRegistry builds runtimes × versions entries in rtool's format.
func generateRegistry(runtimes, versions int) *schema.Registry {
	r := New()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.UpdatedAt = FormatTime(base)
	r.Extra = map[string]json.RawMessage{"_comment": json.RawMessage(`"generated"`)}
	for i := range runtimes {
		name := fmt.Sprintf("runtime-%04d", i)
		vs := map[string]*schema.RegistryEntry{}
		for j := range versions {
			v := fmt.Sprintf("%d.%d.%d", 1+j/50, (j/10)%5, j%10)
			vs[v] = rtoolEntry(name, v, base.Add(time.Duration(i*versions+j)*time.Minute))
		}
		r.Runtimes[name] = vs
	}
	return r
}
