package archive

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync/atomic"

	"github.com/klauspost/pgzip"
)

// Absolute ceilings, whatever the registry says.
const (
	CeilingUnpackedSize = 64 << 30   // bytes of regular file content
	CeilingEntries      = 10_000_000 // tar entries
	MaxNameLength       = 4096       // bytes of an entry name or link target
	MaxComponentLength  = 255        // bytes of one path component
	// MaxRatio is the largest decompressed/compressed ratio accepted once
	// more than ratioFloor bytes have been decompressed. Real runtime trees
	// compress 2-10x; deflate cannot exceed ~1032x, reached only by long
	// runs of one byte, the shape of a decompression bomb.
	MaxRatio   = 200
	ratioFloor = 64 << 20
	// maxPadding is how many zero bytes may follow the tar end-of-archive
	// blocks (tar pads to its record size, 10 KiB by default).
	maxPadding = 1 << 20
	readBlock  = 512 << 10
)

// rawReader counts and (unless h is nil) hashes the compressed bytes as
// they are read.
type rawReader struct {
	r   io.Reader
	h   hash.Hash
	n   atomic.Int64
	ctx context.Context
	err error // first read error of the source (not a property of the archive)
}

func (r *rawReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.r.Read(p)
	if r.h != nil {
		r.h.Write(p[:n])
	}
	r.n.Add(int64(n))
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// decReader counts the decompressed bytes, enforces the ratio guard and
// remembers gzip-level errors so they can be told from tar-level ones.
type decReader struct {
	zr     *pgzip.Reader
	raw    *rawReader
	n      int64
	gzErr  error
	reject *RejectError
}

func (d *decReader) Read(p []byte) (int, error) {
	if d.reject != nil {
		return 0, d.reject
	}
	n, err := d.zr.Read(p)
	d.n += int64(n)
	if d.n > ratioFloor && d.n > MaxRatio*d.raw.n.Load() {
		d.reject = reject("", RuleRatio, "%d bytes decompressed from %d: ratio over %d looks like a decompression bomb", d.n, d.raw.n.Load(), MaxRatio)
		return n, d.reject
	}
	if err != nil && err != io.EOF {
		d.gzErr = err
	}
	return n, err
}

// stream is a gzip member read strictly: one member, nothing after it.
type stream struct {
	raw *rawReader
	br  *bufio.Reader
	zr  *pgzip.Reader
	dec *decReader
}

// openStream starts reading src; hash says whether to compute its sha256.
func openStream(ctx context.Context, src io.Reader, blocks int, hash bool) (*stream, error) {
	if blocks <= 0 {
		blocks = 4
	}
	raw := &rawReader{r: src, ctx: ctx}
	if hash {
		raw.h = sha256.New()
	}
	br := bufio.NewReaderSize(raw, 256<<10)
	zr, err := pgzip.NewReaderN(br, readBlock, blocks)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		if raw.err != nil {
			return nil, fmt.Errorf("reading archive: %w", raw.err)
		}
		return nil, reject("", RuleGzip, "not a gzip stream: %v", err)
	}
	zr.Multistream(false)
	return &stream{raw: raw, br: br, zr: zr, dec: &decReader{zr: zr, raw: raw}}, nil
}

func (s *stream) close() { s.zr.Close() }

// classify turns an error met while reading the tar stream into a
// rejection (or passes through context and rejection errors).
func (s *stream) classify(entry string, err error) error {
	var re *RejectError
	if errors.As(err, &re) {
		if re.Entry == "" && entry != "" {
			return &RejectError{Entry: entry, Rule: re.Rule, Detail: re.Detail}
		}
		return re
	}
	if cerr := s.raw.ctx.Err(); cerr != nil {
		return cerr
	}
	if s.raw.err != nil {
		// The source failed (a dropped download): not the archive's fault.
		return fmt.Errorf("reading archive: %w", s.raw.err)
	}
	if s.dec.gzErr != nil {
		if errors.Is(s.dec.gzErr, io.ErrUnexpectedEOF) {
			return reject(entry, RuleGzip, "gzip stream truncated")
		}
		return reject(entry, RuleGzip, "%v", s.dec.gzErr)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return reject(entry, RuleTar, "tar data ends inside an entry or header (the gzip stream itself ended cleanly)")
	}
	return reject(entry, RuleTar, "%v", err)
}

// finish is called after the tar end-of-archive: it allows only zero
// padding up to the end of the gzip member, checks the member ended
// cleanly (CRC and size), and that no byte follows it. On success every
// byte of src has been read.
func (s *stream) finish() error {
	buf := make([]byte, 32<<10)
	var padding int64
	for {
		n, err := s.dec.Read(buf)
		for _, b := range buf[:n] {
			if b != 0 {
				return reject("", RuleTrailing, "non-zero data after the tar end-of-archive marker")
			}
		}
		padding += int64(n)
		if padding > maxPadding {
			return reject("", RuleTrailing, "more than %d bytes of padding after the tar end-of-archive marker", maxPadding)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return s.classify("", err)
		}
	}
	// The member is complete; nothing may follow it (no second member, no
	// garbage), and the source must be at its end.
	if _, err := s.br.ReadByte(); err == nil {
		return reject("", RuleTrailing, "data after the end of the gzip stream (a second gzip member or garbage)")
	} else if err != io.EOF {
		return fmt.Errorf("reading archive: %w", err)
	}
	return nil
}

func (s *stream) stats(st *Stats) {
	st.Size = s.raw.n.Load()
	if s.raw.h != nil {
		st.SHA256 = hex.EncodeToString(s.raw.h.Sum(nil))
	}
}
