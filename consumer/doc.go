// Package consumer is the Joblet side of a release, run by rtool's own
// tests and by `rtool runtime ...`: it reads registries (a file, an
// http(s) URL, owner/repo on GitHub, or the registries of a config file),
// resolves a runtime spec (name, name@latest, name@X.Y.Z, name@<range>) for
// a platform, downloads the artifact while hashing and extracting it in one
// pass, installs it atomically under a per-version lock, lists and removes
// installs, and runs a command in a job root with the runtime's mounts.
//
// Registries are parsed with package registrygen (errors with
// file:line:column).
//
// It owns the install-level guarantees around package archive's hardened
// extraction (staging directory, checksum and size checks, runtime.yml
// verification, atomic rename, locks, cleanup of leftovers). It must not
// parse tar itself (package archive does), must not build runtimes (package
// builder does) and must not write anything outside the install root except
// temporary job roots that it removes.
package consumer
