package main

import (
	"io"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestPermuteArgs(t *testing.T) {
	app := &cli.App{
		Name:  "rtool",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json"}},
		Commands: []*cli.Command{{
			Name: "runtime",
			Subcommands: []*cli.Command{{
				Name: "install",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "root"},
					&cli.BoolFlag{Name: "force"},
					&cli.StringSliceFlag{Name: "registry", Aliases: []string{"r"}},
				},
			}},
		}},
		Writer: io.Discard,
	}
	tests := []struct{ in, want string }{
		{"rtool runtime install python-3.11@latest --root /tmp/rt", "rtool runtime install --root /tmp/rt python-3.11@latest"},
		{"rtool runtime install --root /tmp/rt python-3.11", "rtool runtime install --root /tmp/rt python-3.11"},
		{"rtool runtime install a --force b --root=/x", "rtool runtime install --force --root=/x a b"},
		{"rtool runtime install a -r one -r two", "rtool runtime install -r one -r two a"},
		{"rtool runtime install a --json", "rtool --json runtime install a"},
		{"rtool runtime install a -- --root x", "rtool runtime install a -- --root x"},
		{"rtool runtime install - --force", "rtool runtime install --force -"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := strings.Join(permuteArgs(app, strings.Fields(tc.in)), " ")
			if got != tc.want {
				t.Fatalf("permuteArgs(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}
