// Package registrygen owns registry.json as a file: it loads it with
// messages that point at file:line:column, merges fragments into it without
// ever dropping or rewriting history, yanks versions, verifies schema and
// consistency (optionally re-hashing local files), diffs two registries,
// guards history against a previous registry, builds one-version fragments
// from release files (hashing them, and measuring artifact tarballs with
// archive.Inspect), and writes the canonical bytes atomically under a
// directory lock.
//
// Merge, Yank, CheckHistory and Diff are pure: they never modify their
// inputs (a result may share unchanged entries with its input, so treat
// registries as immutable once loaded). The package does no network I/O and
// knows nothing about how files are published or committed: that is
// package release's job. The data model and its canonical encoding live in
// package schema.
package registrygen
