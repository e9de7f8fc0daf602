package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

// buildInfo describes this binary.
type buildInfo struct {
	Version, Revision, GoVersion string
}

func readBuildInfo() buildInfo {
	bi := buildInfo{Version: version, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		if bi.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			bi.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				bi.Revision = s.Value
			}
		}
	}
	if bi.Version == "" {
		bi.Version = "devel"
	}
	return bi
}

func cmdVersion(_ context.Context, e env, _ []string) int {
	bi := readBuildInfo()
	fmt.Fprintf(e.stdout, "smsgw %s", bi.Version)
	if bi.Revision != "" {
		fmt.Fprintf(e.stdout, " (%.12s)", bi.Revision)
	}
	fmt.Fprintf(e.stdout, " %s\n", bi.GoVersion)
	return 0
}
