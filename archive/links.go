package archive

import (
	"errors"
	"strings"
)

// maxLinkHops bounds symlink resolution, like the kernel's ELOOP limit.
const maxLinkHops = 40

// errEscape and errLoop are returned by resolveInTree.
var (
	errEscape = errors.New("resolves outside the tree")
	errLoop   = errors.New("too many levels of symbolic links")
)

// linkLookup reports whether the tree path rel (slash separated, relative to
// the tree root, never empty) is a symlink and, if so, its target. A path
// that does not exist is not a symlink.
type linkLookup func(rel string) (target string, isLink bool, err error)

// absMapper maps an absolute symlink target to a tree-relative path, or
// reports false when it points outside the tree.
type absMapper func(target string) (rel string, inside bool)

// resolveInTree resolves the symlink at linkRel whose target is target the
// way the kernel would, but within the tree: every ".." and every symlink met
// on the way is followed, and the resolution fails with errEscape as soon as
// it would leave the tree root. Components that do not exist are applied
// lexically (a dangling link is fine as long as it stays inside). abs maps
// absolute targets; nil means absolute targets escape.
func resolveInTree(linkRel, target string, lookup linkLookup, abs absMapper) error {
	cur := splitPath(parentOf(linkRel))
	todo := []string{}
	start := func(t string) error {
		if strings.HasPrefix(t, "/") {
			if abs == nil {
				return errEscape
			}
			rel, ok := abs(t)
			if !ok {
				return errEscape
			}
			cur = cur[:0]
			t = rel
		}
		todo = append(splitPath(t), todo...)
		return nil
	}
	if err := start(target); err != nil {
		return err
	}
	hops := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return errEscape
			}
			cur = cur[:len(cur)-1]
			continue
		}
		cand := append(cur[:len(cur):len(cur)], c)
		t, isLink, err := lookup(strings.Join(cand, "/"))
		if err != nil {
			return err
		}
		if !isLink {
			cur = cand
			continue
		}
		hops++
		if hops > maxLinkHops {
			return errLoop
		}
		if err := start(t); err != nil {
			return err
		}
	}
	return nil
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// parentOf returns the slash-separated parent of rel ("" for a top-level name).
func parentOf(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}
