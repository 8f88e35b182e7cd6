package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/joblet/rtool/validate"
	"github.com/urfave/cli/v2"
)

// One flag name per idea. --runtimes is the directory holding one
// directory per runtime in every command that reads runtime definitions;
// --root is only ever the install root (rtool runtime ...); --config is only
// ever the build configuration (rtool.yaml), --rnx-config the registries
// file of Joblet's rnx; --platform is a platform to act on, --supports (in
// registry add) the platforms a version supports. The old spellings keep working as hidden flags that
// print a deprecation note, so scripts and CI do not break.

// runtimesFlags are --runtimes and its old spelling --root.
func runtimesFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "runtimes", Usage: "`DIR` holding one directory per runtime", DefaultText: "<git top level>/runtimes, else ./runtimes"},
		deprecatedFlag("root", "runtimes"),
	}
}

// rnxConfigFlags are --rnx-config and its old spelling --config.
func rnxConfigFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "rnx-config", Usage: "rnx config `FILE` listing registries (runtimes.registries: [{name, url, enabled}])", DefaultText: "~/.rnx/config.yaml if present"},
		deprecatedFlag("config", "rnx-config"),
	}
}

// deprecatedPrefix starts the usage of every hidden old spelling.
const deprecatedPrefix = "old spelling of --"

// deprecatedFlag is the hidden old spelling old of the string flag now.
func deprecatedFlag(old, now string) cli.Flag {
	return &cli.StringFlag{Name: old, Hidden: true, Usage: deprecatedPrefix + now}
}

// deprecatedSliceFlag is the hidden old spelling old of the repeatable
// flag now.
func deprecatedSliceFlag(old, now string) cli.Flag {
	return &cli.StringSliceFlag{Name: old, Hidden: true, Usage: deprecatedPrefix + now}
}

// sliceFlag is the repeatable flag now, else its old spelling old.
func sliceFlag(c *cli.Context, now, old string) []string {
	if !c.IsSet(now) && c.IsSet(old) {
		return c.StringSlice(old)
	}
	return c.StringSlice(now)
}

// flagString is the string flag now, else its old spelling old.
func flagString(c *cli.Context, now, old string) string {
	if !c.IsSet(now) && c.IsSet(old) {
		return c.String(old)
	}
	return c.String(now)
}

// setDeprecationNotes makes every command that has old spellings print a
// note on stderr, before it runs, for each one used.
func setDeprecationNotes(cmds []*cli.Command) {
	for _, cmd := range cmds {
		setDeprecationNotes(cmd.Subcommands)
		olds := map[string]string{} // old → new
		for _, f := range cmd.Flags {
			switch sf := f.(type) {
			case *cli.StringFlag:
				if sf.Hidden && strings.HasPrefix(sf.Usage, deprecatedPrefix) {
					olds[sf.Name] = strings.TrimPrefix(sf.Usage, deprecatedPrefix)
				}
			case *cli.StringSliceFlag:
				if sf.Hidden && strings.HasPrefix(sf.Usage, deprecatedPrefix) {
					olds[sf.Name] = strings.TrimPrefix(sf.Usage, deprecatedPrefix)
				}
			}
		}
		if len(olds) == 0 {
			continue
		}
		before := cmd.Before
		cmd.Before = func(c *cli.Context) error {
			for old, now := range olds {
				if c.IsSet(old) {
					fmt.Fprintf(c.App.ErrWriter, "rtool: note: --%s is deprecated here; use --%s (--%s keeps working for now)\n", old, now, old)
				}
			}
			if before != nil {
				return before(c)
			}
			return nil
		}
	}
}

// runtimesDir resolves the runtimes directory the same way in every
// command: --runtimes (or its old spelling --root), else runtimes/ at the
// top of the git work tree holding the current directory, else ./runtimes.
func runtimesDir(c *cli.Context) (string, error) {
	if r := flagString(c, "runtimes", "root"); r != "" {
		return filepath.Abs(r)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return filepath.Abs(validate.DefaultRoot(c.Context, cwd))
}
