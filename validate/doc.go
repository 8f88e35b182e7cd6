// Package validate checks runtime definitions (runtimes/<name>/: manifest.yaml,
// setup.sh, setup-<os>-<arch>.sh and every other shell script of the
// directory, found by a .sh name or a sh/bash #! line) and the runtimes root
// itself (a root without runtimes, a runtime hidden in a dot-directory), and
// returns diagnostics that carry the file, line, column, a stable rule id, a
// severity, a message and a hint. It also renders reports as text, JSON and
// GitHub annotations.
//
// It owns the rules (see Rules) and their wording. It must not modify the
// files it checks, never executes the scripts it checks (shell syntax is
// checked with bash -n, which only parses), and does no network I/O. Exit
// codes and flag handling belong to cmd/rtool.
package validate
