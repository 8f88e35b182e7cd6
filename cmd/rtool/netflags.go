package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/joblet/rtool/consumer"
	"github.com/joblet/rtool/internal/httpclient"
	"github.com/joblet/rtool/release"
)

// stallTimeoutFlag bounds every HTTP transfer (see package
// internal/httpclient for the rule).
func stallTimeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: "stall-timeout", Value: httpclient.DefaultStallTimeout,
		Usage: "fail a transfer that moves less than 32 KiB in `DURATION` (also the connect, TLS and response header timeout)"}
}

// networkFlags are the HTTP flags of the commands that read registries.
func networkFlags() []cli.Flag {
	return []cli.Flag{stallTimeoutFlag(),
		&cli.IntFlag{Name: "attempts", Value: consumer.DefaultAttempts, Usage: "try a registry fetch or a download at most `N` times in all (transient failures only)"},
	}
}

// apiAttemptsFlag is rtool publish's bound on GitHub API retries (its
// --attempts counts git pushes).
func apiAttemptsFlag() cli.Flag {
	return &cli.IntFlag{Name: "api-attempts", Value: release.DefaultGitHubAttempts, Usage: "github publisher: try an idempotent API call (GET) at most `N` times in all"}
}

func checkStallTimeout(c *cli.Context) (time.Duration, error) {
	d := c.Duration("stall-timeout")
	if d <= 0 {
		return 0, usageError("--stall-timeout must be a positive duration such as 30s or 2m, got %s", d)
	}
	return d, nil
}

// applyNetworkFlags sets the stall timeout and attempts of o from
// networkFlags.
func applyNetworkFlags(c *cli.Context, o *consumer.InstallOptions) error {
	d, err := checkStallTimeout(c)
	if err != nil {
		return err
	}
	n := c.Int("attempts")
	if n < 1 {
		return usageError("--attempts must be at least 1, got %d", n)
	}
	r := consumer.DefaultRetry()
	r.Attempts = n
	o.Retry = r
	o.Sources.Retry = r
	o.Sources.StallTimeout = d
	return nil
}

// githubNetworkOptions fills the HTTP fields of o from --stall-timeout and
// --api-attempts.
func githubNetworkOptions(c *cli.Context, o release.GitHubOptions) (release.GitHubOptions, error) {
	d, err := checkStallTimeout(c)
	if err != nil {
		return o, err
	}
	n := c.Int("api-attempts")
	if n < 1 {
		return o, usageError("--api-attempts must be at least 1, got %d", n)
	}
	o.StallTimeout, o.Attempts = d, n
	return o, nil
}
