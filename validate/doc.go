// Package validate checks runtime definitions (runtimes/<name>/: manifest.yaml,
// setup.sh, setup-<os>-<arch>.sh) and returns diagnostics that carry the
// file, line, column, a stable rule id, a severity, a message and a hint.
// It also renders reports as text, JSON and GitHub annotations.
//
// It owns the rules (see Rules) and their wording. It must not modify the
// files it checks, never executes the scripts it checks (shell syntax is
// checked with bash -n, which only parses), and does no network I/O. Exit
// codes and flag handling belong to cmd/rtool.
package validate
