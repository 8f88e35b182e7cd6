// Package testenv decides whether tests that need root, chroots or host
// tools can run. Outside CI a missing prerequisite skips the test with the
// reason; with CI=true it fails the test, so CI never passes by skipping.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true, as GitHub Actions and
// .ci/run set it).
func InCI() bool { return os.Getenv("CI") == "true" }

// Require skips (outside CI) or fails (in CI) t when ok is false.
func Require(t testing.TB, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if InCI() {
		t.Fatalf("prerequisite missing in CI: %s", why)
	}
	t.Skipf("skipping: %s (set up with scripts/setup-host.sh; with CI=true this fails)", why)
}

// RequireRoot needs uid 0, for mounts, namespaces and chroots.
func RequireRoot(t testing.TB) {
	t.Helper()
	Require(t, os.Geteuid() == 0, "test needs root for mounts, namespaces and chroot")
}

// RequireCommands needs every named command on PATH.
func RequireCommands(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		_, err := exec.LookPath(n)
		Require(t, err == nil, "test needs "+n+" on PATH")
	}
}

// RequireSlow skips under -short (outside CI) tests that
// bootstrap base systems and run real builds (minutes each). CI runs them.
func RequireSlow(t testing.TB) {
	t.Helper()
	if testing.Short() {
		Require(t, !InCI(), "slow test skipped by -short")
		t.Skip("slow test skipped by -short")
	}
}
