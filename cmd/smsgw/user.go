package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

func cmdUser(ctx context.Context, e env, args []string) int { return runUser(ctx, e, args, os.Stdin) }

// openAuth opens and migrates the database named by the configuration flags and
// returns the authentication service on it.
func openAuth(ctx context.Context, e env, cf *configFlags) (*store.DB, *auth.Service, bool) {
	cfg, err := cf.load(e)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
		return nil, nil, false
	}
	db, err := store.Open(ctx, cfg.DatabasePath())
	if err == nil {
		if err = db.Migrate(ctx); err != nil {
			db.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
		return nil, nil, false
	}
	return db, auth.New(db, auth.Options{}), true
}

// readPassword takes the first line of stdin, or makes a random password (printed
// once) when none is wanted from stdin.
func readPassword(e env, fromStdin bool, stdin io.Reader) (pw string, generated bool, err error) {
	if !fromStdin {
		b := make([]byte, 15)
		if _, err := rand.Read(b); err != nil {
			return "", false, err
		}
		return base64.RawURLEncoding.EncodeToString(b), true, nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, err
	}
	return strings.TrimRight(line, "\r\n"), false, nil
}

func runUser(ctx context.Context, e env, args []string, stdin io.Reader) int {
	usage := func() int {
		fmt.Fprint(e.stderr, `usage: smsgw user add --username NAME --role ROLE [--name "Display Name"] [--password-stdin]
       smsgw user add --admin NAME        (the same as --username NAME --role admin)
       smsgw user passwd --username NAME [--password-stdin]
       smsgw user list
Roles: admin, supervisor, dispatcher, viewer. Without --password-stdin a random
password is generated and printed once. New users join the default queue.
`)
		return 2
	}
	if len(args) == 0 {
		return usage()
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet(e, "user "+sub, "user "+sub+" [flags]", `  smsgw user add --admin ada
  echo 'a long passphrase' | smsgw user add --username dee --role dispatcher --name "Dee" --password-stdin
  smsgw user passwd --username dee
  smsgw user list --state-dir ./smsgw-demo
`)
	var cf configFlags
	cf.register(fs)
	username := fs.String("username", "", "login name")
	role := fs.String("role", "", "admin, supervisor, dispatcher or viewer")
	name := fs.String("name", "", "display name")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	admin := fs.String("admin", "", "shorthand for --username NAME --role admin")
	switch sub {
	case "add", "passwd", "list":
	case "-h", "--help", "help":
		usage()
		return 0
	default:
		return usage()
	}
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	db, a, ok := openAuth(ctx, e, &cf)
	if !ok {
		return 1
	}
	defer db.Close()
	switch sub {
	case "list":
		us, err := a.Users(ctx)
		if err != nil {
			fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
			return 1
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tNAME\tROLE\tSTATE")
		for _, u := range us {
			state := "active"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.DisplayName, u.Role, state)
		}
		_ = tw.Flush()
		return 0
	case "add":
		if *admin != "" {
			*username, *role = *admin, "admin"
		}
		if *username == "" || *role == "" {
			fmt.Fprintln(e.stderr, "smsgw user add: --username and --role are required")
			return 2
		}
		pw, generated, err := readPassword(e, *pwStdin, stdin)
		if err != nil {
			fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
			return 1
		}
		u, err := a.CreateUser(ctx, *username, *name, pw, *role)
		if err != nil {
			fmt.Fprintf(e.stderr, "smsgw user add: %v\n", err)
			return 1
		}
		// New users take part in the default queue; an admin can change it later.
		rt := router.New(router.Config{}, router.Deps{DB: db})
		if err := rt.SetQueueMember(ctx, router.System, 1, u.ID, true); err != nil {
			fmt.Fprintf(e.stderr, "smsgw user add: joining the default queue: %v\n", err)
		}
		fmt.Fprintf(e.stdout, "user %s (%s) created with id %d\n", u.Username, u.Role, u.ID)
		if generated {
			fmt.Fprintf(e.stdout, "password: %s\n(shown once; change it with smsgw user passwd or in the web UI)\n", pw)
		}
		return 0
	default: // passwd
		if *username == "" {
			fmt.Fprintln(e.stderr, "smsgw user passwd: --username is required")
			return 2
		}
		u, err := a.UserByUsername(ctx, *username)
		if err != nil {
			fmt.Fprintf(e.stderr, "smsgw user passwd: no user %q\n", *username)
			return 1
		}
		pw, generated, err := readPassword(e, *pwStdin, stdin)
		if err != nil {
			fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
			return 1
		}
		if err := a.SetPassword(ctx, u.ID, pw); err != nil {
			fmt.Fprintf(e.stderr, "smsgw user passwd: %v\n", err)
			return 1
		}
		fmt.Fprintf(e.stdout, "password of %s changed; their sessions were ended\n", u.Username)
		if generated {
			fmt.Fprintf(e.stdout, "password: %s\n", pw)
		}
		return 0
	}
}
