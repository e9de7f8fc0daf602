package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smsgw/smsgw/auth"
)

// cmdToken manages API tokens through auth.Service, the code the API's /tokens uses.
func cmdToken(ctx context.Context, e env, args []string) int {
	usage := func() int {
		fmt.Fprintf(e.stderr, `usage: smsgw token create --user NAME --name LABEL --scopes SCOPE[,SCOPE...] [--expires 720h]
       smsgw token list [--user NAME]
       smsgw token revoke ID
Scopes: %s. The token is printed once; only its hash is kept.
`, strings.Join(auth.AllScopes, ", "))
		return 2
	}
	if len(args) == 0 {
		return usage()
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "create", "list", "revoke":
	case "-h", "--help", "help":
		usage()
		return 0
	default:
		return usage()
	}
	fs := newFlagSet(e, "token "+sub, "token "+sub+" [flags]", `  smsgw token create --user ada --name crm --scopes messages:send,messages:read
  smsgw token list --user ada
  smsgw token revoke 3
`)
	var cf configFlags
	cf.register(fs)
	user := fs.String("user", "", "the user the token acts as")
	name := fs.String("name", "", "a label for the token")
	scopes := fs.String("scopes", "", "comma-separated scopes")
	expires := fs.Duration("expires", 0, "lifetime (e.g. 720h); 0 = no expiry")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	db, a, ok := openAuth(ctx, e, &cf)
	if !ok {
		return 1
	}
	defer db.Close()
	var uid int64
	if *user != "" {
		u, err := a.UserByUsername(ctx, *user)
		if err != nil {
			fmt.Fprintf(e.stderr, "smsgw token: no user %q\n", *user)
			return 1
		}
		uid = u.ID
	}
	switch sub {
	case "create":
		if uid == 0 || *name == "" || *scopes == "" {
			fmt.Fprintln(e.stderr, "smsgw token create: --user, --name and --scopes are required")
			return 2
		}
		var exp time.Time
		if *expires > 0 {
			exp = time.Now().Add(*expires)
		}
		var list []string
		for _, s := range strings.Split(*scopes, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		plain, t, err := a.CreateToken(ctx, uid, *name, list, exp)
		if err != nil {
			fmt.Fprintf(e.stderr, "smsgw token create: %v\n", err)
			return 1
		}
		fmt.Fprintf(e.stderr, "token %d (%s) created for %s with scopes %s; it is shown once:\n", t.ID, t.Name, *user, strings.Join(t.Scopes, ","))
		fmt.Fprintln(e.stdout, plain)
		return 0
	case "list":
		ts, err := a.Tokens(ctx, uid)
		if err != nil {
			fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
			return 1
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tNAME\tPREFIX\tSCOPES\tCREATED\tEXPIRES\tLAST USED\tSTATE")
		for _, t := range ts {
			state := "active"
			if !t.RevokedAt.IsZero() {
				state = "revoked"
			} else if !t.Active(time.Now()) {
				state = "expired"
			}
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s…\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.UserID, t.Name, t.Prefix, strings.Join(t.Scopes, ","),
				day(t.CreatedAt), day(t.ExpiresAt), day(t.LastUsedAt), state)
		}
		_ = tw.Flush()
		return 0
	default: // revoke
		if fs.NArg() != 1 {
			fmt.Fprintln(e.stderr, "smsgw token revoke: give the token id (see smsgw token list)")
			return 2
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			fmt.Fprintf(e.stderr, "smsgw token revoke: %q is not a token id\n", fs.Arg(0))
			return 2
		}
		if err := a.RevokeToken(ctx, id); err != nil {
			fmt.Fprintf(e.stderr, "smsgw token revoke: %v\n", err)
			return 1
		}
		fmt.Fprintf(e.stdout, "token %d revoked\n", id)
		return 0
	}
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}
