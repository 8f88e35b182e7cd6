package main

import (
	"fmt"
	"strings"

	"github.com/joblet/rtool/schema"
	"github.com/urfave/cli/v2"
)

func schemaCommands() []*cli.Command {
	return []*cli.Command{{
		Name:      "schema",
		Usage:     "print the JSON Schema of manifest.yaml, runtime.yml or registry.json",
		ArgsUsage: strings.Join(schema.SchemaNames(), "|"),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("schema: name one of %s", strings.Join(schema.SchemaNames(), ", "))
			}
			out, err := schema.GenerateSchema(c.Args().First())
			if err != nil {
				return usageError("schema: %v", err)
			}
			_, err = fmt.Fprint(c.App.Writer, string(out))
			return err
		},
	}}
}
