// Command devclean deletes dev-cloud projects with the given names that an operator
// created (they carry its owner attribute) but whose Tenants went with an earlier local
// control plane. Projects made by people are never touched.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/whitehall-cloud/whitehall-operator/test/cloudtest"
)

func main() {
	clouds := flag.String("clouds", ".local/dev-cloud/clouds.yaml", "clouds.yaml of the dev cloud")
	cloud := flag.String("cloud", "dev", "cloud name in clouds.yaml")
	flag.Parse()
	ctx := context.Background()
	admin, err := cloudtest.Open(ctx, *clouds, *cloud)
	if err == nil {
		err = admin.DeleteOwnedProjects(ctx, flag.Args()...)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "devclean:", err)
		os.Exit(1)
	}
}
