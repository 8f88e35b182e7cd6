package archive

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
)

// rawEntry is one member of a hand-made tar stream. Nothing is validated:
// these build the hostile archives.
type rawEntry struct {
	name  string
	typ   byte
	mode  int64
	body  string
	size  int64 // header size when >= 0 and body is empty; -1 = len(body)
	link  string
	pax   [][2]string // PAX extended header records written before the entry
	magic string      // header magic+version; "" = USTAR
}

func file(name, body string) rawEntry {
	return rawEntry{name: name, typ: '0', mode: 0o644, body: body, size: -1}
}
func dir(name string) rawEntry { return rawEntry{name: name, typ: '5', mode: 0o755, size: -1} }
func symlink(name, target string) rawEntry {
	return rawEntry{name: name, typ: '2', mode: 0o777, link: target, size: -1}
}
func hardlink(name, target string) rawEntry {
	return rawEntry{name: name, typ: '1', mode: 0o644, link: target, size: -1}
}

func octal(b []byte, v int64) {
	s := fmt.Sprintf("%0*o", len(b)-1, v)
	copy(b, s)
	b[len(b)-1] = 0
}

func header(name string, typ byte, mode, size int64, link, magic string) []byte {
	h := make([]byte, 512)
	copy(h[0:100], name)
	octal(h[100:108], mode)
	octal(h[108:116], 0)
	octal(h[116:124], 0)
	octal(h[124:136], size)
	octal(h[136:148], 1700000000)
	h[156] = typ
	copy(h[157:257], link)
	if magic == "" {
		magic = "ustar\x0000"
	}
	copy(h[257:265], magic)
	octal(h[329:337], 0)
	octal(h[337:345], 0)
	var sum int64
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return h
}

func pad(b *bytes.Buffer) {
	if r := b.Len() % 512; r != 0 {
		b.Write(make([]byte, 512-r))
	}
}

func paxRecord(k, v string) string {
	rec := " " + k + "=" + v + "\n"
	n := len(rec)
	for {
		s := fmt.Sprintf("%d%s", n, rec)
		if len(s) == n {
			return s
		}
		n = len(s)
	}
}

// rawTar builds a tar stream from entries, ending with two zero blocks.
func rawTar(entries ...rawEntry) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		if len(e.pax) > 0 {
			var p strings.Builder
			for _, kv := range e.pax {
				p.WriteString(paxRecord(kv[0], kv[1]))
			}
			b.Write(header("PaxHeaders/x", 'x', 0o644, int64(p.Len()), "", ""))
			b.WriteString(p.String())
			pad(&b)
		}
		size := e.size
		if size < 0 {
			size = int64(len(e.body))
		}
		name := e.name
		if len(name) > 100 {
			name = name[:100]
		}
		b.Write(header(name, e.typ, e.mode, size, e.link, e.magic))
		b.WriteString(e.body)
		pad(&b)
	}
	b.Write(make([]byte, 1024))
	return b.Bytes()
}

func gz(tarBytes []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(tarBytes)
	w.Close()
	return b.Bytes()
}
