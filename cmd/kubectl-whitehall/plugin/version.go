package plugin

import (
	"context"
	"fmt"
)

func runVersion(_ context.Context, env Env, args []string) error {
	fs := newFlagSet("version", env)
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		return fmt.Errorf("version takes no arguments")
	}
	_, err = fmt.Fprintf(env.Out, "kubectl-whitehall %s (revision %s)\n", env.Build.Version, env.Build.Revision)
	return err
}
