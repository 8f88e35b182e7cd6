package sbom

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/package-url/packageurl-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
)

// Summary is what `rtool runtime info` shows of an SBOM.
type Summary struct {
	Document  string `json:"document"`
	Namespace string `json:"namespace"`
	Created   string `json:"created"`
	// Subject is the described artifact: its file name and sha256.
	Subject  Subject          `json:"subject"`
	Counts   map[string]int   `json:"counts"` // packages per purl type (deb, pypi, npm)
	Packages []PackageSummary `json:"packages"`
}

// Subject is the artifact an SBOM describes.
type Subject struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	File    string `json:"file,omitempty"`
	SHA256  string `json:"sha256"`
}

// PackageSummary is one package of an SBOM.
type PackageSummary struct {
	Type    string `json:"type"` // purl type: deb, pypi, npm
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch,omitempty"`
	License string `json:"license"`
	PURL    string `json:"purl"`
}

// Summarize reads an SPDX JSON document. When wantSHA256 is not empty, the
// described package must carry that sha256: an SBOM of another artifact is
// an error naming both.
func Summarize(data []byte, wantSHA256 string) (*Summary, error) {
	doc, err := spdxjson.Read(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not an SPDX JSON document: %w", err)
	}
	if doc.CreationInfo == nil {
		return nil, fmt.Errorf("SPDX document %q has no creationInfo", doc.DocumentName)
	}
	s := &Summary{Document: doc.DocumentName, Namespace: doc.DocumentNamespace, Created: doc.CreationInfo.Created,
		Counts: map[string]int{}, Packages: []PackageSummary{}}
	var described common.ElementID
	for _, r := range doc.Relationships {
		if r.Relationship == common.TypeRelationshipDescribe && r.RefA.ElementRefID == "DOCUMENT" {
			if described != "" {
				return nil, fmt.Errorf("SPDX document %q describes more than one element; an artifact's SBOM describes the artifact alone", doc.DocumentName)
			}
			described = r.RefB.ElementRefID
		}
	}
	if described == "" {
		return nil, fmt.Errorf("SPDX document %q describes nothing (no DESCRIBES relationship from SPDXRef-DOCUMENT)", doc.DocumentName)
	}
	contained := map[common.ElementID]bool{}
	for _, r := range doc.Relationships {
		if r.Relationship == common.TypeRelationshipContains && r.RefA.ElementRefID == described {
			contained[r.RefB.ElementRefID] = true
		}
	}
	found := false
	for _, p := range doc.Packages {
		if p.PackageSPDXIdentifier == described {
			found = true
			s.Subject = Subject{Name: p.PackageName, Version: p.PackageVersion, File: p.PackageFileName}
			for _, c := range p.PackageChecksums {
				if c.Algorithm == common.SHA256 {
					s.Subject.SHA256 = strings.ToLower(c.Value)
				}
			}
			continue
		}
		if !contained[p.PackageSPDXIdentifier] {
			continue
		}
		ps := PackageSummary{Name: p.PackageName, Version: p.PackageVersion, License: p.PackageLicenseDeclared}
		for _, ref := range p.PackageExternalReferences {
			if ref.RefType != common.TypePackageManagerPURL {
				continue
			}
			ps.PURL = ref.Locator
			if u, err := packageurl.FromString(ref.Locator); err == nil {
				ps.Type = u.Type
				ps.Arch = u.Qualifiers.Map()["arch"]
			}
		}
		if ps.License == "" {
			ps.License = NoAssertion
		}
		s.Packages = append(s.Packages, ps)
		s.Counts[ps.Type]++
	}
	if !found {
		return nil, fmt.Errorf("SPDX document %q describes SPDXRef-%s, which is not one of its packages", doc.DocumentName, described)
	}
	if wantSHA256 != "" && s.Subject.SHA256 != strings.ToLower(wantSHA256) {
		got := s.Subject.SHA256
		if got == "" {
			got = "no sha256"
		}
		return nil, fmt.Errorf("SPDX document %q describes an artifact with sha256 %s, not this artifact's %s", doc.DocumentName, got, wantSHA256)
	}
	sort.SliceStable(s.Packages, func(i, j int) bool {
		a, b := s.Packages[i], s.Packages[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Arch < b.Arch
	})
	return s, nil
}
