package archive

import "fmt"

// Rules named by RejectError.Rule.
const (
	RuleAbsolute      = "absolute-name"     // entry name starts with "/"
	RuleDotDot        = "dotdot"            // a ".." component in a name or hardlink target
	RuleName          = "bad-name"          // NUL, control characters, invalid UTF-8, non-canonical or empty name
	RuleLength        = "name-too-long"     // name over 4096 bytes or a component over 255
	RuleDuplicate     = "duplicate"         // the same cleaned name twice
	RuleUnderSymlink  = "under-symlink"     // an entry whose parent is a symlink or not a directory
	RuleSymlinkEscape = "symlink-escape"    // a symlink that is absolute or resolves outside the tree
	RuleHardlink      = "hardlink-target"   // a hardlink whose target is not an earlier regular file of the archive
	RuleType          = "entry-type"        // device node, FIFO, socket or unknown entry type
	RuleXattr         = "xattr"             // extended attributes, ACLs or file flags (PAX records)
	RuleSparse        = "sparse"            // GNU sparse entries (type S or PAX GNU.sparse.*)
	RuleSize          = "size-limit"        // unpacked size over the limit
	RuleEntries       = "entry-limit"       // more entries than allowed
	RuleRatio         = "compression-ratio" // decompressed/compressed ratio of a decompression bomb
	RuleGzip          = "gzip"              // corrupt or truncated gzip stream, or a second gzip member
	RuleTar           = "tar"               // corrupt or truncated tar stream
	RuleTrailing      = "trailing-data"     // bytes after the gzip stream or non-zero data after the tar end
	RuleGlobalHeader  = "pax-global"        // PAX global header with anything but a comment
)

// RejectError is returned when an archive (read) or a tree (written) holds
// something the format does not allow. Entry is the entry name or path
// ("" for stream-level problems), Rule one of the Rule constants.
type RejectError struct {
	Entry, Rule, Detail string
}

func (e *RejectError) Error() string {
	entry := e.Entry
	if entry == "" {
		entry = "(archive)"
	}
	if e.Detail == "" {
		return fmt.Sprintf("%q: rejected by rule %s", entry, e.Rule)
	}
	return fmt.Sprintf("%q: rejected by rule %s: %s", entry, e.Rule, e.Detail)
}

func reject(entry, rule, format string, a ...any) *RejectError {
	return &RejectError{Entry: entry, Rule: rule, Detail: fmt.Sprintf(format, a...)}
}
