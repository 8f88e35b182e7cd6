package consumer

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/joblet/rtool/schema"
)

// jobletScan reads the tar headers of a download the way Joblet's
// extractor (extractTarGz in Joblet's runtime_installer.go, Go's
// compress/gzip and archive/tar) reads them, while package archive
// extracts the same bytes: which single top-level directory Joblet strips,
// and which entries it skips with only a warning. It never writes
// anything; the extraction itself is archive.Extract's.
type jobletScan struct {
	pw   *io.PipeWriter
	done chan struct{}
	once sync.Once

	// set by the reading goroutine, read after finish
	prefix  string   // Joblet's topLevelPrefix ("name/"), or ""
	dropped []string // entries Joblet's extractor skips
}

func startJobletScan() *jobletScan {
	pr, pw := io.Pipe()
	s := &jobletScan{pw: pw, done: make(chan struct{})}
	go s.run(pr)
	return s
}

// Write feeds the compressed bytes (through an io.TeeReader).
func (s *jobletScan) Write(p []byte) (int, error) { return s.pw.Write(p) }

// finish ends the input and waits for the reader; safe to call twice.
func (s *jobletScan) finish() {
	s.once.Do(func() {
		s.pw.Close()
		<-s.done
	})
}

func (s *jobletScan) run(r *io.PipeReader) {
	defer close(s.done)
	// Whatever happens, keep reading, so the tee never blocks.
	defer io.Copy(io.Discard, r)
	zr, err := gzip.NewReader(r)
	if err != nil {
		return // archive.Extract reports the corrupt stream
	}
	tr := tar.NewReader(zr)
	first := true
	for {
		hdr, err := tr.Next()
		if err != nil {
			return
		}
		// Joblet's first pass: the first entry's first component is the
		// prefix, kept only while every entry is it or below it.
		name := filepath.ToSlash(hdr.Name)
		if first {
			if c := strings.Split(name, "/")[0]; c != "" {
				s.prefix = c + "/"
			}
			first = false
		} else if s.prefix != "" && name != strings.TrimSuffix(s.prefix, "/") && !strings.HasPrefix(name, s.prefix) {
			s.prefix = ""
		}
		// Joblet's second pass extracts directories, regular files and
		// symlinks; anything else is logged and skipped. A PAX global
		// header carries no content (package archive checks it).
		switch hdr.Typeflag {
		case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeXGlobalHeader:
		case tar.TypeLink:
			s.dropped = append(s.dropped, fmt.Sprintf("%q (a hardlink to %q)", hdr.Name, hdr.Linkname))
		default:
			s.dropped = append(s.dropped, fmt.Sprintf("%q (tar entry type %q)", hdr.Name, string(hdr.Typeflag)))
		}
	}
}

// droppedError names the entries Joblet's extractor would skip.
func (s *jobletScan) droppedError(url string) error {
	if len(s.dropped) == 0 {
		return nil
	}
	list := s.dropped
	more := ""
	if len(list) > 5 {
		list, more = list[:5], fmt.Sprintf(" and %d more", len(s.dropped)-5)
	}
	return fmt.Errorf("artifact %s: entry %s%s: Joblet's extractor silently drops hardlinks and anything but directories, regular files and symlinks (it only logs a warning), so a node would install this runtime without them; write linked files as regular files (rtool package does)",
		url, strings.Join(list, ", "), more)
}

// jobletTree applies Joblet's package check to an extracted download: the
// wrapper directory prefix (if any) is stripped, then runtime.yml at that
// root means a prebuilt runtime, which must say the registry's name and
// version (Joblet's resolver matches on them); setup.sh instead means a
// source package, which Joblet would build on the node: refused.
func jobletTree(tree, prefix string, r *Resolved) (string, error) {
	root := tree
	if p := strings.TrimSuffix(prefix, "/"); p != "" && p != "." {
		if fi, err := os.Lstat(filepath.Join(tree, p)); err == nil && fi.IsDir() {
			root = filepath.Join(tree, p)
		}
	}
	if hasRuntimeConfig(root) {
		if rc, err := readRuntimeConfig(root); err == nil && (rc.Name != r.Name || rc.Version != r.Version) {
			return "", fmt.Errorf("artifact %s: %s says %s@%s, but the registry key is %s@%s: a Joblet node would install it into %s/%s/ and its resolver, which matches runtime.yml's name and version, would never find it as %s@%s",
				r.URL, schema.RuntimeConfigFile, rc.Name, rc.Version, r.Name, r.Version, r.Name, r.Version, r.Name, r.Version)
		}
		return root, nil
	}
	if _, err := os.Lstat(filepath.Join(root, "setup.sh")); err == nil {
		return "", fmt.Errorf("artifact %s for %s@%s is a SOURCE PACKAGE (setup.sh at its root, no %s), not a prebuilt runtime: a Joblet node would try to build it on the node by running setup.sh in a chroot whose /usr, /etc and /var are the host's, read-only (apt-get fails there; a node whose platform has no setup script fails sooner); point the entry's top-level download_url, checksum and size at the prebuilt artifact",
			r.URL, r.Name, r.Version, schema.RuntimeConfigFile)
	}
	ents, _ := os.ReadDir(root)
	var names []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return "", fmt.Errorf("artifact %s: Joblet would refuse it as an invalid runtime package: no %s or setup.sh at the root of the archive (after its optional single wrapper directory); the root holds: %s",
		r.URL, schema.RuntimeConfigFile, joinOrNone(names))
}
