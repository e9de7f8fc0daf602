package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPackaging checks the .deb inputs without building one: the installed default
// configuration is valid, every file nfpm.yaml packs exists, and the maintainer
// scripts parse. `make deb` builds the packages themselves.
func TestPackaging(t *testing.T) {
	root := filepath.Join("..", "..")
	cfg := filepath.Join(root, "packaging", "smsgw.yaml")
	if code, out, errs := runCmd(context.Background(), "config", "check", "--config", cfg); code != 0 {
		t.Errorf("packaging/smsgw.yaml: %d %s %s", code, out, errs)
	}
	spec, err := os.ReadFile(filepath.Join(root, "packaging", "nfpm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	srcs := regexp.MustCompile(`(?m)^\s*(?:- )?src: (\S+)`).FindAllStringSubmatch(string(spec), -1)
	if len(srcs) < 10 {
		t.Fatalf("nfpm.yaml lists only %d files", len(srcs))
	}
	for _, m := range srcs {
		if strings.HasPrefix(m[1], "dist/") {
			continue // built by make deb
		}
		if got, _ := filepath.Glob(filepath.Join(root, m[1])); len(got) == 0 {
			t.Errorf("nfpm.yaml packs %s, which does not exist", m[1])
		}
	}
	for _, want := range []string{"/usr/bin/smsgw", "/usr/lib/systemd/system/smsgw.service", "/usr/lib/sysusers.d/smsgw.conf",
		"/usr/lib/tmpfiles.d/smsgw.conf", "/usr/lib/udev/rules.d/99-smsgw-modems.rules", "/etc/smsgw/smsgw.yaml"} {
		if !strings.Contains(string(spec), "dst: "+want) {
			t.Errorf("nfpm.yaml does not install %s", want)
		}
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		p := filepath.Join(root, "packaging", s)
		if out, err := exec.Command(sh, "-n", p).CombinedOutput(); err != nil {
			t.Errorf("%s: %v %s", s, err, out)
		}
		if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable: %v", s, err)
		}
	}
}
