// Package e2e holds rtool's end-to-end tests: they build the real rtool
// binary and drive it the way a release and a Joblet node would (package,
// registry, serve over HTTP on 127.0.0.1, install, run), checking what ends
// up on disk. Root-only parts use internal/testenv, so they skip outside CI
// and fail in CI when a prerequisite is missing. There is no non-test code.
package e2e
