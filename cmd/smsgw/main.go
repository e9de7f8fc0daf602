// Command smsgw is the SMS gateway appliance: one binary that drives GSM/LTE modems,
// keeps a durable outbound queue, turns inbound SMS into team-inbox conversations and
// serves the web UI, REST API and metrics.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}

// env gives a command the process environment without reading globals, so tests can
// pass their own.
type env struct {
	stdout, stderr io.Writer
	lookup         func(string) (string, bool)
}

type command struct {
	summary string
	run     func(ctx context.Context, e env, args []string) int
}

// commands is the table of subcommands.
func commands() map[string]command {
	return map[string]command{
		"serve":   {"run the gateway (modems, queue, web UI, API)", cmdServe},
		"demo":    {"run the gateway with virtual modems and phones, state in ./smsgw-demo", cmdDemo},
		"config":  {"check or dump the configuration", cmdConfig},
		"version": {"print the version", cmdVersion},
		"send":    {"queue an SMS in the gateway's database (the running gateway sends it)", cmdSend},
		"pdu":     {"decode, encode and count SMS PDUs", cmdPDU},
		"at":      {"AT console or batch of AT commands on a modem port", cmdAT},
		"modems":  {"find and identify USB modems", cmdModems},
		"ussd":    {"send a USSD code (e.g. *100#) and print the answer", cmdUSSD},
		"sim":     {"run virtual modems on ptys with a virtual network and control API", cmdSim},
		"backup":  {"write an online backup of the database (safe while running)", cmdBackup},
		"restore": {"replace the database with a checked backup (gateway stopped)", cmdRestore},
		"user":    {"add users, set passwords, list users", cmdUser},
		"token":   {"create, list and revoke API tokens", cmdToken},
	}
}

// run is the whole program behind main: it returns the exit code instead of exiting.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	e := env{stdout: stdout, stderr: stderr, lookup: lookup}
	cmds := commands()
	if len(args) == 0 {
		usage(stderr, cmds)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(stdout, cmds)
		return 0
	case "-v", "--version":
		return cmdVersion(ctx, e, nil)
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "smsgw: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	return c.run(ctx, e, args[1:])
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("smsgw: a self-hosted SMS gateway and team inbox.\n\nUsage: smsgw COMMAND [flags]\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-9s %s\n", n, cmds[n].summary)
	}
	b.WriteString("\nRun 'smsgw COMMAND --help' for a command's flags and examples.\n" +
		"Try it without a modem: smsgw demo\n")
	_, _ = io.WriteString(w, b.String())
}
