package router

import (
	"context"
	"fmt"
	"time"
)

// Settings are the inbox settings an administrator may change while the gateway runs
// (the web UI's settings page). They start as the Config the router was built with;
// ApplySettings replaces them at once for every later call and sweep, without a
// restart. Everything else in Config is fixed for the life of the process.
type Settings struct {
	// GraceWindow: see Config.GraceWindow (must be positive).
	GraceWindow time.Duration
	// AutoResolveAfter: see Config.AutoResolveAfter (0 = off).
	AutoResolveAfter time.Duration
	// NoReturnToLastOwner, NoAutoAccept, NoAutoAcceptSupervisors and
	// JobOwnerOwnsReplies: see Config.
	NoReturnToLastOwner                   bool
	NoAutoAccept, NoAutoAcceptSupervisors bool
	JobOwnerOwnsReplies                   bool
	// Permissions of the dispatcher role.
	Permissions Permissions
	// UnreadPerTeam: see Config.UnreadPerTeam.
	UnreadPerTeam bool
}

// MaxGraceWindow bounds Settings.GraceWindow and Settings.AutoResolveAfter.
const MaxGraceWindow = 365 * 24 * time.Hour

func settingsOf(c Config) Settings {
	return Settings{GraceWindow: c.GraceWindow, AutoResolveAfter: c.AutoResolveAfter,
		NoReturnToLastOwner: c.NoReturnToLastOwner, NoAutoAccept: c.NoAutoAccept,
		NoAutoAcceptSupervisors: c.NoAutoAcceptSupervisors, JobOwnerOwnsReplies: c.JobOwnerOwnsReplies,
		Permissions: c.Permissions, UnreadPerTeam: c.UnreadPerTeam}
}

// Validate checks the values; the error wraps ErrInvalid and names the setting.
func (s Settings) Validate() error {
	switch {
	case s.GraceWindow < time.Minute || s.GraceWindow > MaxGraceWindow:
		return fmt.Errorf("%w: the grace window must be between 1 minute and 365 days", ErrInvalid)
	case s.AutoResolveAfter < 0 || s.AutoResolveAfter > MaxGraceWindow:
		return fmt.Errorf("%w: auto-resolve must be off or at most 365 days", ErrInvalid)
	case s.AutoResolveAfter > 0 && s.AutoResolveAfter < time.Minute:
		return fmt.Errorf("%w: auto-resolve must be off or at least 1 minute", ErrInvalid)
	}
	switch s.Permissions.DispatcherSeeOthers {
	case SeeAll, SeeQueue, SeeNone:
	default:
		return fmt.Errorf("%w: dispatchers see others' conversations: all, queue or none, not %q", ErrInvalid,
			s.Permissions.DispatcherSeeOthers)
	}
	switch s.Permissions.DispatcherReplyOthers {
	case ReplyAllow, ReplyWarn, ReplyDeny:
	default:
		return fmt.Errorf("%w: dispatchers reply in others' conversations: allow, warn or deny, not %q", ErrInvalid,
			s.Permissions.DispatcherReplyOthers)
	}
	return nil
}

// Settings returns the settings in force.
func (r *Router) Settings() Settings { return *r.live.Load() }

// ApplySettings puts new settings in force at once (admins only; the system actor is
// allowed, for applying stored overrides at start). Conversations already resolved
// keep their resolve time: a shorter grace window closes them at the next sweep.
func (r *Router) ApplySettings(ctx context.Context, a Actor, s Settings) error {
	w, err := r.resolveRead(ctx, a)
	if err != nil {
		return err
	}
	if err := checkAdmin(w, "changing settings"); err != nil {
		return err
	}
	s.Permissions.defaults()
	if err := s.Validate(); err != nil {
		return err
	}
	r.live.Store(&s)
	r.log.Info("inbox settings applied", "by", w.name(), "grace_window", s.GraceWindow,
		"auto_resolve_after", s.AutoResolveAfter, "dispatcher_see_others", s.Permissions.DispatcherSeeOthers,
		"dispatcher_reply_others", s.Permissions.DispatcherReplyOthers, "dispatcher_assign", s.Permissions.DispatcherAssign,
		"unread_per_team", s.UnreadPerTeam)
	return nil
}
