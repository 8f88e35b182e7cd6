// Package sbom owns a built runtime's software bill of materials: an SPDX 2.3
// document (through github.com/spdx/tools-golang) whose described subject is
// the artifact tarball (its file name and sha256) and which lists, as
// packages it contains, every Debian package with at least one file in the
// collected runtime tree and every pip or npm package found in it that no
// Debian package owns. Each package carries a purl (pkg:deb/debian/...,
// pkg:pypi/..., pkg:npm/...) and the licence its metadata records: for
// Debian packages the "License:" lines of a machine-readable (DEP-5)
// copyright file, mapped to SPDX identifiers where there is one and to
// LicenseRef-... otherwise.
//
// It reads a copy of the chroot's package database (ReadDpkg: dpkg's status
// and *.list files, the copyright files, os-release and the canonical form of
// every directory the lists name) and the collected tree; it does not run
// anything in a chroot (package builder copies those files out) and it does
// not fetch anything (package consumer does). The document is deterministic:
// the same inputs give the same bytes (creation time from
// SOURCE_DATE_EPOCH, namespace from the artifact's sha256, everything
// sorted).
package sbom
