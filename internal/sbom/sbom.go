package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/package-url/packageurl-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"
)

// Suffix is appended to an artifact's file name to name its SBOM.
const Suffix = ".spdx.json"

// MediaType is the SBOM file's media type.
const MediaType = "application/spdx+json"

// NamespaceBase starts every document namespace.
const NamespaceBase = "https://github.com/joblet/rtool/spdx/"

// ArtifactID is the SPDX element id (without SPDXRef-) of the artifact,
// the document's described subject.
const ArtifactID = "Artifact"

// Mount is one runtime.yml mount: the tree's Source directory appears at
// Target in a job (and is where the chroot had those files).
type Mount struct {
	Source string // relative to the tree
	Target string // absolute
}

// Spec is what Build needs.
type Spec struct {
	Artifact string // the artifact's file name (<name>-<version>-<platform>.tar.gz)
	SHA256   string // its sha256, lowercase hex
	Name     string // runtime name
	Version  string // runtime version
	Platform string
	Tool     string    // creator tool, e.g. rtool-1.2.3
	Created  time.Time // SOURCE_DATE_EPOCH
	// Tree is the collected runtime tree, InstallDir where it was in the
	// chroot (/opt/joblet/runtimes/<name>).
	Tree       string
	InstallDir string
	// Mounts are runtime.yml's mounts. A tree file is looked up in the
	// package database at every path it may have had in the chroot: below
	// each mount's target, "/" + the path below isolated/ (this
	// repository's runtimes copy the chroot's files there under their
	// canonical paths), and below InstallDir.
	Mounts []Mount
	// Dpkg is the chroot's package database; nil when the base has none
	// (no Debian packages are listed then).
	Dpkg *Dpkg
}

var hexRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Namespace is the document namespace of an artifact's SBOM: unique per
// artifact content.
func Namespace(artifact, sha string) string {
	return NamespaceBase + artifact + "-" + sha
}

// Build returns the SBOM of an artifact. It fails on a tree it cannot read
// and on metadata files (pip, npm) it cannot parse, naming the file.
func Build(spec Spec) (*spdx.Document, error) {
	if !hexRE.MatchString(spec.SHA256) {
		return nil, fmt.Errorf("sbom: sha256 %q is not 64 lowercase hex digits", spec.SHA256)
	}
	if spec.Artifact == "" || spec.Name == "" || spec.Version == "" {
		return nil, fmt.Errorf("sbom: the artifact's file name, runtime name and version are required")
	}
	tool := spec.Tool
	if tool == "" {
		tool = "rtool"
	}
	refNames := refs{}
	debs, langs, err := scan(spec, refNames)
	if err != nil {
		return nil, err
	}

	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      spec.Artifact,
		DocumentNamespace: Namespace(spec.Artifact, spec.SHA256),
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: tool}},
			Created:  spec.Created.UTC().Format(time.RFC3339),
		},
	}
	artifact := &spdx.Package{
		PackageName:             spec.Name,
		PackageSPDXIdentifier:   ArtifactID,
		PackageVersion:          spec.Version,
		PackageFileName:         spec.Artifact,
		PackageDownloadLocation: NoAssertion,
		PackageChecksums:        []common.Checksum{{Algorithm: common.SHA256, Value: spec.SHA256}},
		PackageLicenseConcluded: NoAssertion,
		PackageLicenseDeclared:  NoAssertion,
		PackageCopyrightText:    NoAssertion,
		PackageComment:          "Joblet runtime " + spec.Name + "@" + spec.Version + " prebuilt for " + spec.Platform,
		PrimaryPackagePurpose:   "ARCHIVE",
	}
	doc.Packages = append(doc.Packages, artifact)
	doc.Relationships = append(doc.Relationships, &spdx.Relationship{
		RefA:         common.MakeDocElementID("", "DOCUMENT"),
		RefB:         common.MakeDocElementID("", ArtifactID),
		Relationship: common.TypeRelationshipDescribe,
	})
	contains := func(id common.ElementID) {
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA:         common.MakeDocElementID("", ArtifactID),
			RefB:         common.MakeDocElementID("", string(id)),
			Relationship: common.TypeRelationshipContains,
		})
	}

	var distro, namespace string
	if spec.Dpkg != nil {
		distro = spec.Dpkg.Distro.Qualifier()
		namespace = spec.Dpkg.Distro.ID
	}
	if namespace == "" {
		namespace = "debian"
	}
	ids := map[common.ElementID]bool{ArtifactID: true}
	for _, d := range debs {
		q := packageurl.Qualifiers{{Key: "arch", Value: d.Arch}}
		if distro != "" {
			q = append(q, packageurl.Qualifier{Key: "distro", Value: distro})
		}
		if d.Source != d.Name || d.SourceVersion != d.Version {
			up := d.Source
			if d.SourceVersion != d.Version {
				up += "@" + d.SourceVersion
			}
			q = append(q, packageurl.Qualifier{Key: "upstream", Value: up})
		}
		purl := packageurl.NewPackageURL(packageurl.TypeDebian, namespace, d.Name, d.Version, q, "").ToString()
		var exprs []string
		for _, l := range d.Licenses {
			exprs = append(exprs, debianExpression(l, refNames))
		}
		p := &spdx.Package{
			PackageName:             d.Name,
			PackageSPDXIdentifier:   elementID("deb", d.Name, purl, ids),
			PackageVersion:          d.Version,
			PackageDownloadLocation: NoAssertion,
			PackageSourceInfo:       "built package from: " + d.Source + " " + d.SourceVersion,
			PackageLicenseConcluded: NoAssertion,
			PackageLicenseDeclared:  allOf(exprs),
			PackageCopyrightText:    NoAssertion,
			PackageHomePage:         d.Homepage,
			PackageExternalReferences: []*spdx.PackageExternalReference{
				{Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: purl},
			},
			PrimaryPackagePurpose: "LIBRARY",
		}
		if d.Maintainer != "" {
			p.PackageSupplier = &common.Supplier{SupplierType: "Person", Supplier: personName(d.Maintainer)}
		}
		doc.Packages = append(doc.Packages, p)
		contains(p.PackageSPDXIdentifier)
	}
	for _, l := range langs {
		var purl string
		switch l.Type {
		case "pypi":
			purl = packageurl.NewPackageURL(packageurl.TypePyPi, "", pypiName(l.Name), l.Version, nil, "").ToString()
		case "npm":
			ns, name := "", l.Name
			if strings.HasPrefix(name, "@") {
				ns, name, _ = strings.Cut(name, "/")
			}
			purl = packageurl.NewPackageURL(packageurl.TypeNPM, ns, name, l.Version, nil, "").ToString()
		}
		p := &spdx.Package{
			PackageName:             l.Name,
			PackageSPDXIdentifier:   elementID(l.Type, l.Name, purl, ids),
			PackageVersion:          l.Version,
			PackageDownloadLocation: NoAssertion,
			PackageSourceInfo:       "installed by the setup script; metadata " + l.Path,
			PackageLicenseConcluded: NoAssertion,
			PackageLicenseDeclared:  l.License,
			PackageCopyrightText:    NoAssertion,
			PackageExternalReferences: []*spdx.PackageExternalReference{
				{Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: purl},
			},
			PrimaryPackagePurpose: "LIBRARY",
		}
		doc.Packages = append(doc.Packages, p)
		contains(p.PackageSPDXIdentifier)
	}

	// every LicenseRef used needs its extracted licensing info: the text of
	// a stand-alone License paragraph of a copyright file that names it,
	// else where the name comes from
	refIDs := make([]string, 0, len(refNames))
	for id := range refNames {
		refIDs = append(refIDs, id)
	}
	sort.Strings(refIDs)
	for _, id := range refIDs {
		name := refNames[id]
		text := ""
		for _, d := range debs {
			if t, ok := d.LicenseTexts[name]; ok {
				text = t
				break
			}
		}
		if text == "" {
			var users []string
			for _, p := range doc.Packages {
				if slices.Contains(licenseTokens(p.PackageLicenseDeclared), id) {
					users = append(users, p.PackageName)
				}
			}
			text = fmt.Sprintf("The licence named %q by the metadata of %s (for Debian packages /usr/share/doc/PACKAGE/copyright), which has no text for it.",
				name, strings.Join(users, ", "))
		}
		doc.OtherLicenses = append(doc.OtherLicenses, &spdx.OtherLicense{
			LicenseIdentifier: id,
			LicenseName:       name,
			ExtractedText:     text,
		})
	}
	return doc, nil
}

// Encode returns the document as indented JSON with a trailing newline.
func Encode(doc *spdx.Document) ([]byte, error) {
	var buf bytes.Buffer
	if err := spdxjson.Write(doc, &buf, spdxjson.Indent("  "), spdxjson.EscapeHTML(false)); err != nil {
		return nil, fmt.Errorf("sbom: encode: %w", err)
	}
	return buf.Bytes(), nil
}

var idCharsRE = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// elementID is Package-<type>-<name>-<hash of the purl>, unique in ids.
func elementID(typ, name, purl string, ids map[common.ElementID]bool) common.ElementID {
	sum := sha256.Sum256([]byte(purl))
	base := "Package-" + typ + "-" + strings.Trim(idCharsRE.ReplaceAllString(name, "-"), "-") + "-" + hex.EncodeToString(sum[:8])
	id := common.ElementID(base)
	for n := 2; ids[id]; n++ {
		id = common.ElementID(fmt.Sprintf("%s-%d", base, n))
	}
	ids[id] = true
	return id
}

// personName turns "Name <mail>" into SPDX's "Name (mail)".
func personName(m string) string {
	name, mail, ok := strings.Cut(m, "<")
	if !ok {
		return strings.TrimSpace(m)
	}
	return strings.TrimSpace(name) + " (" + strings.TrimSuffix(strings.TrimSpace(mail), ">") + ")"
}

// scan walks the tree: the Debian packages that own at least one of its
// files or symlinks (sorted by name and architecture) and the pip and npm
// packages whose metadata no Debian package owns (sorted by type, name and
// version; each once).
func scan(spec Spec, r refs) ([]*DebPackage, []*LangPackage, error) {
	if spec.Tree == "" {
		return nil, nil, fmt.Errorf("sbom: no tree to scan")
	}
	present := map[*DebPackage]bool{}
	langs := map[string]*LangPackage{}
	err := filepath.WalkDir(spec.Tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(spec.Tree, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		owned := false
		if spec.Dpkg != nil {
			for _, c := range chrootPaths(spec, rel) {
				for _, o := range spec.Dpkg.Owners(c) {
					present[o] = true
					owned = true
				}
			}
		}
		if owned || !d.Type().IsRegular() {
			return nil
		}
		var lp *LangPackage
		switch {
		case isPythonMetadata(rel):
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if lp, err = parsePythonMetadata(data, rel, r); err != nil {
				return fmt.Errorf("python package metadata %w", err)
			}
		case isNPMManifest(rel):
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if lp, err = parseNPMManifest(data, rel, r); err != nil {
				return fmt.Errorf("npm package manifest %w", err)
			}
		default:
			return nil
		}
		key := lp.Type + "\x00" + lp.Name + "\x00" + lp.Version
		if _, dup := langs[key]; !dup {
			langs[key] = lp
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("sbom: scan %s: %w", spec.Tree, err)
	}
	var debs []*DebPackage
	if spec.Dpkg != nil {
		for _, p := range spec.Dpkg.Packages {
			if present[p] {
				debs = append(debs, p)
			}
		}
	}
	keys := make([]string, 0, len(langs))
	for k := range langs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*LangPackage, len(keys))
	for i, k := range keys {
		out[i] = langs[k]
	}
	return debs, out, nil
}

// chrootPaths are the paths a tree file may have had in the chroot (see
// Spec.Mounts).
func chrootPaths(spec Spec, rel string) []string {
	var out []string
	for _, m := range spec.Mounts {
		src := path.Clean(m.Source)
		if rest, ok := strings.CutPrefix(rel, src+"/"); ok && path.IsAbs(m.Target) {
			out = append(out, path.Join(m.Target, rest))
		}
	}
	if rest, ok := strings.CutPrefix(rel, "isolated/"); ok {
		out = append(out, "/"+rest)
	}
	if spec.InstallDir != "" {
		out = append(out, path.Join(spec.InstallDir, rel))
	}
	return out
}

// licenseTokens splits a licence expression into its identifiers and
// operators.
func licenseTokens(expr string) []string {
	return strings.Fields(strings.NewReplacer("(", " ", ")", " ").Replace(expr))
}
