// Package builder owns base root filesystems and the build sandbox: it reads
// rtool.yaml (each platform's default base, and the named bases a runtime
// chooses with build.base in its manifest), bootstraps and caches
// bases (debootstrap or a user-supplied rootfs) keyed by the hash of their
// configuration, runs a runtime's setup-<platform>.sh inside an overlay over
// the base in fresh mount and PID namespaces (through internal/sandbox),
// collects /opt/joblet/runtimes/<name>/, checks its runtime.yml and packages
// it with package archive, skipping builds whose inputs did not change.
// Beside each artifact it writes the artifact's SBOM (package internal/sbom,
// from the chroot's dpkg database, copied out before the overlay goes) and
// its provenance statement (package internal/intoto).
//
// It must not write a base after it is built (bases are only ever the
// overlay's lower layer), leave mounts on the host, or know about registries
// and releases: it produces artifacts, their SBOMs, provenance statements
// and stamps in an output directory and nothing else.
package builder
