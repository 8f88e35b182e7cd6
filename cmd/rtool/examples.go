package main

import (
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// commandExamples are the EXAMPLES of each command's --help, by command
// path ("" is rtool itself). A test runs over the whole command tree: every
// command needs examples here, and each example must name that command and
// only flags it has.
func commandExamples() map[string][]string {
	const registryURL = "https://mirror.example.com/runtimes/registry.json"
	return map[string][]string{
		"": {
			"rtool validate",
			"sudo rtool build python-3.11 --platform debian-amd64",
			"sudo rtool runtime install python-3.11@latest --registry " + registryURL,
		},
		"validate": {
			"rtool validate",
			"rtool validate python-3.11 --format json",
			"rtool validate --runtimes ../my-runtimes/runtimes --strict",
		},
		"schema": {
			"rtool schema manifest > schema/manifest.schema.json",
		},
		"registry": {
			"rtool registry verify --registry registry.json --previous base-registry.json",
		},
		"registry add": {
			"rtool registry add --registry registry.json --manifest runtimes/python-3.11 --source out/python-3.11-1.3.5.tar.gz --artifact out/python-3.11-1.3.5-debian-amd64.tar.gz --url 'https://github.com/OWNER/REPO/releases/download/{tag}/{file}'",
		},
		"registry merge": {
			"rtool registry merge --registry registry.json fragment-amd64.json fragment-arm64.json",
		},
		"registry verify": {
			"rtool registry verify --registry registry.json --previous base-registry.json",
			"rtool registry verify --registry registry.json --artifacts out --json",
		},
		"registry diff": {
			"rtool registry diff base-registry.json registry.json --json",
		},
		"registry yank": {
			`rtool registry yank python-3.11@1.3.4 --registry registry.json --reason "openssl CVE in the bundled wheel"`,
		},
		"package": {
			"rtool package build/tree -o out/mytool-1.0.0-debian-amd64.tar.gz",
		},
		"build": {
			"sudo rtool build python-3.11 --platform debian-amd64",
			"sudo rtool build --all -j 2 -q --json",
			"sudo rtool build python-3.11 -v --rebuild",
		},
		"base": {
			"sudo rtool base build debian-amd64",
		},
		"base list": {
			"rtool base list --json",
		},
		"base build": {
			"sudo rtool base build debian-amd64 debian-arm64",
			"sudo rtool base build debian-amd64 --base trixie",
			"sudo rtool base build --all-bases",
		},
		"base key": {
			"rtool base key debian-amd64 --json",
			"rtool base key debian-arm64 --runtime openjdk-21 --json",
		},
		"base prune": {
			"sudo rtool base prune",
		},
		"runtime": {
			"sudo rtool runtime install python-3.11@latest --registry " + registryURL,
		},
		"runtime install": {
			"sudo rtool runtime install python-3.11@latest --registry " + registryURL,
			"sudo rtool runtime install 'python-3.11@^1.3' --registry out/registry.json --root /tmp/runtimes",
		},
		"runtime list": {
			"rtool runtime list",
			"rtool runtime list --available --registry " + registryURL,
		},
		"runtime info": {
			"rtool runtime info python-3.11@latest --registry " + registryURL,
		},
		"runtime remove": {
			"sudo rtool runtime remove python-3.11@1.3.4",
		},
		"runtime verify": {
			"rtool runtime verify python-3.11@1.3.5",
			"rtool runtime verify --all --json",
		},
		"runtime run": {
			"sudo rtool runtime run python-3.11@1.3.5 -- python3 -c 'import sys; print(sys.version)'",
		},
		"test": {
			"sudo rtool test python-3.11 --platform debian-amd64",
		},
		"release": {
			"rtool release python-3.11 --dry-run",
			"rtool release python-3.11",
		},
		"publish": {
			"rtool publish --tag python-3.11@1.3.5 --artifacts out --publisher dir --dir /srv/runtimes --base-url https://mirror.example.com/runtimes",
		},
		"plan": {
			"rtool plan --since origin/main --format json",
			"rtool plan --tag runtimes-2026.11.27",
		},
		"version": {
			"rtool version",
			"rtool version --json",
		},
		"completion": {
			"source <(rtool completion bash)",
			"rtool completion fish > ~/.config/fish/completions/rtool.fish",
		},
	}
}

// setExamples adds an EXAMPLES section to the help of the app and of every
// command that has examples.
func setExamples(app *cli.App, examples map[string][]string) {
	if ex := examples[""]; len(ex) > 0 {
		app.CustomAppHelpTemplate = cli.AppHelpTemplate + examplesTemplate(ex)
	}
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			path := strings.TrimSpace(prefix + " " + c.Name)
			if ex := examples[path]; len(ex) > 0 {
				base := cli.CommandHelpTemplate
				if len(c.Subcommands) > 0 {
					base = cli.SubcommandHelpTemplate
				}
				c.CustomHelpTemplate = base + examplesTemplate(ex)
			}
			walk(path, c.Subcommands)
		}
	}
	walk("", app.Commands)
}

// examplesTemplate is the EXAMPLES section as help template text; the
// examples are template string literals, so no example is parsed as a
// template.
func examplesTemplate(examples []string) string {
	var b strings.Builder
	b.WriteString("\nEXAMPLES:\n")
	for _, e := range examples {
		b.WriteString("   {{" + strconv.Quote(e) + "}}\n")
	}
	return b.String()
}
