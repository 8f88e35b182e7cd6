package archive

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// SourceDateEpoch picks the time entries are clamped to, and says where it
// came from: env (the value of $SOURCE_DATE_EPOCH, "" when unset) if set,
// else the time of the last git commit touching dir when dir is inside a git
// work tree, else Unix 0.
func SourceDateEpoch(ctx context.Context, dir, env string) (time.Time, string, error) {
	if env = strings.TrimSpace(env); env != "" {
		n, err := strconv.ParseInt(env, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, "", fmt.Errorf("SOURCE_DATE_EPOCH=%q: want a non-negative number of seconds since 1970", env)
		}
		return time.Unix(n, 0).UTC(), "SOURCE_DATE_EPOCH", nil
	}
	if t, ok := gitCommitTime(ctx, dir); ok {
		return t, "last git commit of " + dir, nil
	}
	return time.Unix(0, 0).UTC(), "default (Unix 0)", nil
}

func gitCommitTime(ctx context.Context, dir string) (time.Time, bool) {
	if _, err := exec.LookPath("git"); err != nil {
		return time.Time{}, false
	}
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "log", "-1", "--format=%ct", "--", ".")
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(out.String()), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}
