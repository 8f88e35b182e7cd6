// Package consumer is the Joblet side of a release, run by rtool's own
// tests and by `rtool runtime ...`: it reads registries (a file, an
// http(s) URL, owner/repo on GitHub, or the registries of a config file),
// resolves a runtime spec (name, name@latest, name@X.Y.Z, name@<range>) for
// a platform, downloads the artifact while hashing and extracting it in one
// pass, installs it atomically under a per-version lock into
// <root>/<name>/<version>/ (Joblet's layout), lists and removes installs in
// that layout and the older flat <root>/<name>-<version>/, and runs a
// command in a job root with the runtime's mounts.
//
// ModeJoblet (ResolveJoblet, InstallOptions.Mode) reads a registry exactly
// as Joblet's own client does, to prove what a Joblet node would install:
// Joblet's URL rules, its struct shape (one type error rejects the
// registry), the version key and the top-level download only (no
// artifacts, platforms or yanked), its @latest, and its reading of the
// archive (optional wrapper directory, runtime.yml or a refused source
// package, the entries it would drop).
//
// Registries are parsed with package registrygen (errors with
// file:line:column).
//
// It owns the install-level guarantees around package archive's hardened
// extraction (staging directory, checksum and size checks, runtime.yml
// verification, the install record and fsync of the whole tree before the
// atomic rename, locks, cleanup of leftovers), and checks installs against
// their records (an install found in place, `rtool runtime verify`). It
// must not extract tar itself (package archive does; ModeJoblet only reads the
// headers with Go's archive/tar, as Joblet's extractor does, to see what
// that extractor would strip or drop), must not build runtimes (package
// builder does) and must not write anything outside the install root except
// temporary job roots that it removes.
package consumer
