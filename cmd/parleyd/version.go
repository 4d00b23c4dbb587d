package main

import (
	"fmt"
	"io"

	"github.com/parley-im/parley/internal/buildinfo"
)

// runVersion runs parleyd -version (or version): one line, the build
// information of this binary.
func runVersion(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "parleyd version: unexpected argument %q\nUsage: parleyd -version\n", args[0])
		return 2
	}
	fmt.Fprintln(stdout, "parleyd", buildinfo.Read())
	return 0
}
