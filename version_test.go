package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestVersionLine(t *testing.T) {
	info := func(v string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Path: "github.com/cinit/cinit", Version: v}}, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	arch := " " + runtime.GOOS + "/" + runtime.GOARCH
	cases := []struct {
		stamped string
		info    func() (*debug.BuildInfo, bool)
		want    string
	}{
		{"v1.2.3", info("v1.2.4"), "cinit v1.2.3" + arch}, // make's stamp wins
		{"dev", info("v1.2.4"), "cinit v1.2.4" + arch},    // go install ...@v1.2.4
		{"dev", info("(devel)"), "cinit dev" + arch},      // go build outside a tag
		{"dev", none, "cinit dev" + arch},
	}
	for _, tc := range cases {
		if got := versionLine(tc.stamped, tc.info); got != tc.want {
			t.Errorf("versionLine(%q) = %q, want %q", tc.stamped, got, tc.want)
		}
	}
}
