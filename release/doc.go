// Package release owns everything between a built runtime and a published
// one: release tags (name@X.Y.Z, created and pushed with the real git
// binary), publishers (GitHub releases through go-github, or a static
// directory tree any web server can serve), the registry.json commit that
// retries on a rejected push and never loses a concurrent release, the CI
// build plan (runtimes × platforms) and Markdown step summaries.
//
// It must not build runtimes itself (package builder does), write tarballs
// (package archive), or decide how registry.json merges (package
// registrygen); it calls them. It never force-pushes a branch, and it only
// moves a tag when the caller passed Force and confirmed.
package release
