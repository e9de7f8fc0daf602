package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/smsgw/smsgw/config"
)

// configFlags are the flags every command that reads the configuration accepts. Flags
// beat the environment, which beats the file, which beats the defaults.
type configFlags struct {
	path    string
	setters map[string]*string // config key → flag value ("" = not given)
	order   []string
}

var overridable = []struct{ flag, key, help string }{
	{"listen", "listen", "HTTP listen address, e.g. :8080"},
	{"state-dir", "state_dir", "directory for the database and other state"},
	{"database", "database", "SQLite database file (default STATE_DIR/smsgw.db)"},
	{"log-level", "log.level", "debug, info, warn or error"},
	{"log-format", "log.format", "text or json"},
	{"region", "region", "default region for numbers without a country code, e.g. DE"},
}

func (cf *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&cf.path, "config", "", "YAML configuration file (default "+config.DefaultPath+", or $SMSGW_CONFIG)")
	cf.setters = map[string]*string{}
	for _, o := range overridable {
		cf.setters[o.key] = fs.String(o.flag, "", o.help)
		cf.order = append(cf.order, o.key)
	}
}

// load builds the configuration: defaults → file → SMSGW_* environment → flags.
func (cf *configFlags) load(e env) (config.Config, error) {
	path, required := cf.path, cf.path != ""
	if !required {
		if p, ok := e.lookup("SMSGW_CONFIG"); ok && p != "" {
			path, required = p, true
		} else {
			path = config.DefaultPath
		}
	}
	cfg, err := config.Load(path, required, e.lookup)
	if err != nil {
		return cfg, err
	}
	for _, key := range cf.order {
		if v := *cf.setters[key]; v != "" {
			if err := cfg.Set(key, v); err != nil {
				return cfg, err
			}
		}
	}
	return cfg, nil
}

func newFlagSet(e env, name, synopsis, examples string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: smsgw %s\n\n", synopsis)
		fs.PrintDefaults()
		if examples != "" {
			fmt.Fprintf(out, "\nExamples:\n%s", examples)
		}
	}
	return fs
}

// parseFlags parses args and reports the exit code to use when the command must stop
// (0 after --help, 2 after a usage error).
func parseFlags(fs *flag.FlagSet, args []string) (code int, stop bool) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0, true
		}
		return 2, true
	}
	return 0, false
}

func cmdConfig(_ context.Context, e env, args []string) int {
	const examples = `  smsgw config check --config /etc/smsgw/smsgw.yaml
  smsgw config dump                      # effective config, secrets masked
  SMSGW_LOG_LEVEL=debug smsgw config dump
`
	if len(args) == 0 || (args[0] != "check" && args[0] != "dump") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintf(e.stdout, "Usage: smsgw config check|dump [flags]\n\n  check  validate the configuration and report every problem\n  dump   print the effective configuration with secrets masked\n\nExamples:\n%s", examples)
			return 0
		}
		fmt.Fprintf(e.stderr, "Usage: smsgw config check|dump [flags]\n")
		return 2
	}
	sub := args[0]
	fs := newFlagSet(e, "config "+sub, "config "+sub+" [flags]", examples)
	var cf configFlags
	cf.register(fs)
	if code, stop := parseFlags(fs, args[1:]); stop {
		return code
	}
	cfg, err := cf.load(e)
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
		return 1
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
		return 1
	}
	switch sub {
	case "check":
		fmt.Fprintln(e.stdout, "configuration OK")
	case "dump":
		if err := cfg.Dump(e.stdout); err != nil {
			fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
			return 1
		}
	}
	return 0
}
