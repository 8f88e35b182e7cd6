package builder

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/joblet/rtool/archive"
)

// stampFormat is mixed into the inputs hash; bump it when what a build
// produces from the same inputs changes.
const stampFormat = "rtool-build-inputs/1"

// stamp is <artifact>.build.json: what the artifact was built from.
type stamp struct {
	Inputs          string        `json:"inputs"` // inputsHash
	ToolVersion     string        `json:"tool_version"`
	BaseKey         string        `json:"base"`
	BaseName        string        `json:"base_name,omitempty"` // a named base's name; "" for the default
	SourceDateEpoch int64         `json:"source_date_epoch"`
	Stats           archive.Stats `json:"stats"`
}

func stampPath(artifact string) string { return artifact + ".build.json" }

// inputsHash covers everything a build's output depends on that rtool can
// see: every file of the runtime directory (relative name, type, executable
// bit, content or link target; manifest and scripts included), the
// platform, the base's key (a named base's includes its name, so moving a
// runtime to another base rebuilds it), SOURCE_DATE_EPOCH and rtool's
// version.
func (b *Builder) inputsHash(ri *runtimeInfo, platform, baseKey string, sde time.Time) (string, error) {
	return InputsHash(ri.dir, platform, baseKey, b.opts.ToolVersion, sde.Unix())
}

// InputsHash is the build inputs hash of the runtime directory dir (see
// Builder.Build): a change in any argument or any file of dir changes it;
// modification times and owners do not.
func InputsHash(dir, platform, baseKey, toolVersion string, sde int64) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\nplatform %q\nbase %s\ntool %q\nsde %d\n", stampFormat, platform, baseKey, toolVersion, sde)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			fmt.Fprintf(h, "dir %q\n", rel)
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "link %q %q\n", rel, t)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			c := sha256.New()
			_, err = io.Copy(c, f)
			f.Close()
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "file %q %v %x\n", rel, fi.Mode().Perm()&0o111 != 0, c.Sum(nil))
		default:
			return fmt.Errorf("%s: not a regular file, directory or symlink", p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash inputs of %s: %w", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeStamp(artifact string, s stamp) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(stampPath(artifact), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("build stamp: %w", err)
	}
	return nil
}

func readStamp(artifact string) (*stamp, error) {
	data, err := os.ReadFile(stampPath(artifact))
	if err != nil {
		return nil, err
	}
	var s stamp
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", stampPath(artifact), err)
	}
	return &s, nil
}

// reuseArtifact reports whether artifact was built from inputs and is still
// intact (its size and SHA-256 match the stamp).
func reuseArtifact(artifact, inputs string) (archive.Stats, bool) {
	s, err := readStamp(artifact)
	if err != nil || s.Inputs != inputs {
		return archive.Stats{}, false
	}
	fi, err := os.Stat(artifact)
	if err != nil || fi.Size() != s.Stats.Size {
		return archive.Stats{}, false
	}
	sum, err := fileSHA256(artifact)
	if err != nil || sum != s.Stats.SHA256 {
		return archive.Stats{}, false
	}
	return s.Stats, true
}
