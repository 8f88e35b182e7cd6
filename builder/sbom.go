package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/joblet/rtool/internal/sandbox"
	"github.com/joblet/rtool/internal/sbom"
	"github.com/joblet/rtool/schema"
)

// noDpkgCode is the package database command's exit status when the
// chroot has no dpkg status file (a base of another family).
const noDpkgCode = 3

// sbomStaging is where the package database command writes the list of
// directories with their canonical paths, inside the sandbox's private
// /tmp; it is archived under this path and moved to sbom.CanonicalDirsFile.
const sbomStaging = "tmp/rtool-sbom"

// dpkgArgs is the command that streams, as an uncompressed tar, what
// sbom.ReadDpkg reads from the build chroot after the setup script: dpkg's
// status and *.list files, every usr/share/doc/*/copyright (symlinked doc
// directories followed, files dereferenced), os-release, and every
// directory the lists name with its canonical path (realpath -m, in the
// chroot, so merged-/usr links resolve as the setup script saw them). It
// runs in a sandbox over the same overlay, like collectArgs, with the
// base's own tools (coreutils, findutils, sed, tar: all essential).
func dpkgArgs() []string {
	script := `set -eu
cd /
if [ ! -f var/lib/dpkg/status ]; then
	echo "rtool: the build chroot has no /var/lib/dpkg/status; the SBOM lists no Debian packages" >&2
	exit ` + fmt.Sprint(noDpkgCode) + `
fi
out=/` + sbomStaging + `
mkdir -p "$out"
find var/lib/dpkg/info -maxdepth 1 -name '*.list' -type f -print0 | xargs -0 -r cat |
	sed -n 's|^\(/..*\)/[^/]*$|\1|p' | LC_ALL=C sort -u >"$out/dirs"
xargs -r -d '\n' realpath -m -- <"$out/dirs" >"$out/canon"
paste "$out/dirs" "$out/canon" >"$out/` + sbom.CanonicalDirsFile + `"
{
	printf '%s\0' var/lib/dpkg/status ` + sbomStaging + `/` + sbom.CanonicalDirsFile + `
	find var/lib/dpkg/info -maxdepth 1 -name '*.list' -type f -print0
	if [ -d usr/share/doc ]; then
		find -L usr/share/doc -mindepth 2 -maxdepth 2 -name copyright -type f -print0
	fi
	for f in etc/os-release usr/lib/os-release; do
		if [ -e "$f" ]; then printf '%s\0' "$f"; fi
	done
} >"$out/files"
exec tar --numeric-owner --dereference --null -T "$out/files" -cf -
`
	return []string{"/bin/sh", "-c", script}
}

// readChrootDpkg copies the chroot's package database out through spec
// (the build's sandbox spec; its Args are replaced) into dir and reads it.
// A chroot without dpkg gives nil and no error (the log says so).
func readChrootDpkg(ctx context.Context, spec sandbox.Spec, dir string, log io.Writer) (*sbom.Dpkg, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	spec.Args = dpkgArgs()
	spec.Dir = "/"
	code, err, xerr := runExtracting(ctx, spec, dir, log)
	switch {
	case err != nil:
		return nil, fmt.Errorf("sbom: read the package database of the build chroot: %w", err)
	case code == noDpkgCode:
		return nil, nil
	case code != 0:
		return nil, fmt.Errorf("sbom: reading the package database of the build chroot failed (exit status %d; see the log)", code)
	case xerr != nil:
		return nil, fmt.Errorf("sbom: package database of the build chroot: %w", xerr)
	}
	staged := filepath.Join(dir, filepath.FromSlash(sbomStaging), sbom.CanonicalDirsFile)
	if err := os.Rename(staged, filepath.Join(dir, sbom.CanonicalDirsFile)); err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	return sbom.ReadDpkg(dir)
}

// sbomPath is where an artifact's SBOM is written.
func sbomPath(artifact string) string { return artifact + sbom.Suffix }

// writeSBOM writes the artifact's SPDX document beside it and returns its
// sha256.
func (b *Builder) writeSBOM(artifact, sha, name, version, platform, tree string, sde int64, rc *schema.RuntimeConfig, dpkg *sbom.Dpkg) (string, error) {
	spec := sbom.Spec{
		Artifact: filepath.Base(artifact), SHA256: sha,
		Name: name, Version: version, Platform: platform,
		Tool: "rtool-" + b.opts.ToolVersion, Created: unixUTC(sde),
		Tree: tree, InstallDir: path.Join(InstallRoot, name), Dpkg: dpkg,
	}
	if rc != nil {
		for _, m := range rc.Mounts {
			spec.Mounts = append(spec.Mounts, sbom.Mount{Source: m.Source, Target: m.Target})
		}
	}
	doc, err := sbom.Build(spec)
	if err != nil {
		return "", err
	}
	data, err := sbom.Encode(doc)
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(sbomPath(artifact), data, 0o644); err != nil {
		return "", fmt.Errorf("sbom: %w", err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// haveAttachments reports whether the SBOM and the provenance statement a
// build writes beside an artifact are there (a build is reused only then).
func haveAttachments(artifact string) bool {
	for _, p := range []string{sbomPath(artifact), provenancePath(artifact)} {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}
