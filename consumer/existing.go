package consumer

import (
	"context"
	"errors"
	"fmt"
)

// checkExisting decides what an install of r does about final, an install
// of the same version already in place (without --force):
//   - its install record names the artifact r names and the tree still
//     matches the record's paths, types, modes, sizes and symlink targets:
//     it is kept (already installed);
//   - it has no record (an rtool older than install records, or another
//     installer) but a valid runtime.yml: kept, Unverified (a warning says
//     so); without a valid runtime.yml it is an error, as rtool does not
//     replace what it did not install unless told to (--force);
//   - it has a record naming another artifact (the registry's checksum or
//     size changed since): an error naming both; --force replaces it;
//   - its record is unreadable, or the tree differs from it (a crash
//     before the data reached the disk, or a change after install): it is
//     installed again and replaced atomically, and Repaired says why.
//
// keep reports whether the install is kept.
func checkExisting(ctx context.Context, final, key string, r *Resolved, out *Installed, opts InstallOptions) (keep bool, err error) {
	rec, rerr := ReadInstallRecord(final)
	_, terr := VerifyTree(final, r.Name, r.Version)
	if errors.Is(rerr, errNoRecord) {
		if terr != nil {
			return false, fmt.Errorf("%s is installed at %s but is not intact: %w; it has no install record, so it was not installed by this rtool: reinstall with --force", key, final, terr)
		}
		out.Unverified = true
		opts.warn("%s@%s at %s has no install record (%s): it was installed by an older rtool or another installer, so it is used unverified; rtool runtime install --force %s@%s installs it again with one",
			r.Name, r.Version, final, RecordFile, r.Name, r.Version)
		return true, nil
	}
	repair := ""
	switch {
	case rerr != nil:
		repair = rerr.Error()
	case rec.Name != r.Name || rec.Version != r.Version:
		repair = fmt.Sprintf("its install record is for %s@%s", rec.Name, rec.Version)
	case rec.Checksum != r.Checksum || rec.Size != r.Size:
		return false, fmt.Errorf("%s is installed at %s from another artifact: its install record says %s (%d bytes, from %s, installed %s), but registry %s now says %s (%d bytes) for it; a published version should not change (rtool registry verify --previous and the registry's forced list say whether it was replaced on purpose); reinstall with --force to replace it",
			key, final, rec.Checksum, rec.Size, rec.Registry, rec.InstalledAt, r.Registry, r.Checksum, r.Size)
	case terr != nil:
		repair = terr.Error()
	default:
		got, err := scanTree(ctx, final, scanOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			repair = fmt.Sprintf("reading it failed: %v", err)
		} else if diffs := compareTree(rec.Entries, got); len(diffs) > 0 {
			repair = fmt.Sprintf("it differs from its install record: %s", summarize(diffs, 5))
		}
	}
	if repair == "" {
		out.TreeDigest = rec.Digest
		return true, nil
	}
	out.Repaired = repair
	opts.warn("%s@%s at %s is damaged (%s), by a crash before it reached the disk or a change since; installing it again", r.Name, r.Version, final, repair)
	return false, nil
}
