package main

import (
	"runtime"
	"runtime/debug"
)

// versionLine is what cinit version prints: "cinit v1.2.3 linux/arm64".
// The version is the one make stamps with -X main.version (git describe),
// else the module version Go recorded from the tag when it built the
// binary (go install github.com/cinit/cinit@v1.2.3, or go build in a
// tagged checkout), else "dev".
func versionLine(stamped string, info func() (*debug.BuildInfo, bool)) string {
	v := stamped
	if v == "dev" {
		if bi, ok := info(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return "cinit " + v + " " + runtime.GOOS + "/" + runtime.GOARCH
}

// readBuildInfo is debug.ReadBuildInfo; a seam for tests.
var readBuildInfo = debug.ReadBuildInfo
