package router

import (
	"context"
	"fmt"
	"slices"

	"github.com/smsgw/smsgw/store"
)

// Settings for Permissions.DispatcherSeeOthers.
const (
	SeeAll   = "all"   // dispatchers see every owned episode
	SeeQueue = "queue" // only those in their own queues (default)
	SeeNone  = "none"  // only their own and unowned ones in their queues
)

// Settings for Permissions.DispatcherReplyOthers.
const (
	ReplyAllow = "allow"
	ReplyWarn  = "warn" // allowed with ReplyRequest.Force; ErrConfirmRequired without
	ReplyDeny  = "deny" // default
)

// Permissions are the per-install settings of the role presets (INBOX.md "Who can do
// what"). Admins and supervisors are not affected by them.
type Permissions struct {
	DispatcherSeeOthers   string // SeeAll, SeeQueue, SeeNone
	DispatcherReplyOthers string // ReplyAllow, ReplyWarn, ReplyDeny
	// DispatcherAssign lets dispatchers assign to others and take over ("steal").
	DispatcherAssign bool
}

func (p *Permissions) defaults() {
	if p.DispatcherSeeOthers == "" {
		p.DispatcherSeeOthers = SeeQueue
	}
	if p.DispatcherReplyOthers == "" {
		p.DispatcherReplyOthers = ReplyDeny
	}
}

// who is an actor resolved against the database: role and queues.
type who struct {
	Actor
	agent store.Agent // zero for the system
}

func (w who) system() bool { return w.Role == RoleSystem }

// manager: admin, supervisor or the system.
func (w who) manager() bool {
	return w.Role == RoleAdmin || w.Role == RoleSupervisor || w.system()
}

func (w who) name() string {
	if w.system() {
		return "system"
	}
	return w.agent.Name()
}

func (w who) inQueue(q int64) bool { return slices.Contains(w.agent.Queues, q) }

// resolve loads the actor's user row and checks it is usable.
func (r *Router) resolve(get func(int64) (store.Agent, error), a Actor) (who, error) {
	if a.Role == RoleSystem {
		return who{Actor: a}, nil
	}
	if a.UserID == 0 {
		return who{}, fmt.Errorf("%w: no user", ErrForbidden)
	}
	ag, err := get(a.UserID)
	if err != nil {
		return who{}, fmt.Errorf("%w: unknown user %d", ErrForbidden, a.UserID)
	}
	if ag.Disabled {
		return who{}, fmt.Errorf("%w: user %d is disabled", ErrForbidden, a.UserID)
	}
	// The role stored for the user wins over what the caller claims.
	return who{Actor: Actor{UserID: ag.ID, Role: ag.Role}, agent: ag}, nil
}

// resolveRead resolves an actor outside a transaction.
func (r *Router) resolveRead(ctx context.Context, a Actor) (who, error) {
	return r.resolve(func(id int64) (store.Agent, error) { return r.db.Agent(ctx, id) }, a)
}

// visibility is what w may list.
func (p Permissions) visibility(w who) store.Visibility {
	if w.manager() {
		return store.Visibility{All: true}
	}
	v := store.Visibility{UserID: w.UserID, MemberQueues: w.agent.Queues}
	switch {
	case w.Role == RoleViewer:
		v.OthersEverywhere = true
	case p.DispatcherSeeOthers == SeeAll:
		v.OthersEverywhere = true
	case p.DispatcherSeeOthers == SeeQueue:
		v.OthersInQueues = true
	}
	return v
}

// canSee: may w look at conversation c?
func (p Permissions) canSee(w who, c store.Conversation) bool {
	if w.manager() {
		return true
	}
	if c.OwnerID == w.UserID || c.LastOwnerID == w.UserID {
		return true
	}
	if c.OwnerID == 0 {
		return w.inQueue(c.QueueID)
	}
	if w.Role == RoleViewer || p.DispatcherSeeOthers == SeeAll {
		return true
	}
	return p.DispatcherSeeOthers == SeeQueue && w.inQueue(c.QueueID)
}

func forbidden(what string) error { return fmt.Errorf("%w: %s", ErrForbidden, what) }

// checkSee returns ErrNotFound for a conversation w may not see, so that ids of
// hidden conversations are not confirmed.
func (p Permissions) checkSee(w who, c store.Conversation) error {
	if !p.canSee(w, c) {
		return fmt.Errorf("%w: conversation %d", ErrNotFound, c.ID)
	}
	return nil
}

// checkWork: accept, note, tag, snooze, resolve. Allowed on one's own episodes and on
// unowned ones of one's queues; managers everywhere; viewers never.
func (p Permissions) checkWork(w who, c store.Conversation, what string) error {
	if err := p.checkSee(w, c); err != nil {
		return err
	}
	switch {
	case w.manager():
		return nil
	case w.Role == RoleViewer:
		return forbidden("viewers cannot " + what)
	case c.OwnerID == w.UserID:
		return nil
	case c.OwnerID == 0 && (w.inQueue(c.QueueID) || c.LastOwnerID == w.UserID):
		return nil
	case p.DispatcherAssign:
		return nil
	}
	return forbidden(what + " a conversation owned by someone else")
}

// checkNote: notes are how people collaborate, so anyone who sees a conversation and
// is not a viewer may add one.
func (p Permissions) checkNote(w who, c store.Conversation) error {
	if err := p.checkSee(w, c); err != nil {
		return err
	}
	if w.Role == RoleViewer {
		return forbidden("viewers cannot add notes")
	}
	return nil
}

// checkReply: replying in a conversation owned by someone else follows the setting.
func (p Permissions) checkReply(w who, c store.Conversation, force bool) error {
	if err := p.checkSee(w, c); err != nil {
		return err
	}
	switch {
	case w.manager():
		return nil
	case w.Role == RoleViewer:
		return forbidden("viewers cannot reply")
	case c.OwnerID == 0 || c.OwnerID == w.UserID:
		if c.OwnerID == 0 && !w.inQueue(c.QueueID) && c.LastOwnerID != w.UserID {
			return forbidden("reply outside your queues")
		}
		return nil
	}
	switch p.DispatcherReplyOthers {
	case ReplyAllow:
		return nil
	case ReplyWarn:
		if force {
			return nil
		}
		return ErrConfirmRequired
	}
	return forbidden("reply in a conversation owned by someone else")
}

// checkAssign: assigning to others, or taking over an owned conversation.
func (p Permissions) checkAssign(w who, c store.Conversation, to int64) error {
	if err := p.checkSee(w, c); err != nil {
		return err
	}
	switch {
	case w.manager():
		return nil
	case w.Role == RoleViewer:
		return forbidden("viewers cannot assign")
	case p.DispatcherAssign:
		return nil
	case to == w.UserID && c.OwnerID == 0 && w.inQueue(c.QueueID):
		return nil // taking an unowned one is accepting
	}
	return forbidden("assign conversations to others")
}

// checkRelease: the owner releases their own; others need the assign permission.
func (p Permissions) checkRelease(w who, c store.Conversation) error {
	if err := p.checkSee(w, c); err != nil {
		return err
	}
	if w.manager() || (c.OwnerID == w.UserID && w.Role != RoleViewer) || (p.DispatcherAssign && w.Role == RoleDispatcher) {
		return nil
	}
	return forbidden("release a conversation owned by someone else")
}

// checkReopen: reopen and archive; dispatchers only their own (owner or last owner).
func (p Permissions) checkReopen(w who, c store.Conversation, what string) error {
	if err := p.checkSee(w, c); err != nil {
		return err
	}
	if w.manager() {
		return nil
	}
	if w.Role == RoleDispatcher && (c.OwnerID == w.UserID || c.LastOwnerID == w.UserID ||
		(c.OwnerID == 0 && c.LastOwnerID == 0 && w.inQueue(c.QueueID))) {
		return nil
	}
	return forbidden(what + " a conversation that is not yours")
}

// checkAdmin: deleting conversations, merging contacts, lines, queues.
func checkAdmin(w who, what string) error {
	if w.Role == RoleAdmin || w.system() {
		return nil
	}
	return forbidden(what + " needs an admin")
}

// checkManager: admin or supervisor.
func checkManager(w who, what string) error {
	if w.manager() {
		return nil
	}
	return forbidden(what + " needs a supervisor")
}

// checkContactEdit: everyone but viewers may edit contacts.
func checkContactEdit(w who) error {
	if w.Role == RoleViewer {
		return forbidden("viewers cannot edit contacts")
	}
	return nil
}

// checkQuickReply: admins manage global ones, supervisors those of queues (and their
// own), dispatchers only personal ones.
func checkQuickReply(w who, q store.QuickReply) error {
	switch q.Scope {
	case store.ScopeGlobal:
		if w.Role == RoleAdmin || w.system() {
			return nil
		}
		return forbidden("global quick replies need an admin")
	case store.ScopeQueue:
		if w.manager() {
			return nil
		}
		return forbidden("queue quick replies need a supervisor")
	case store.ScopePersonal:
		if w.Role == RoleViewer {
			return forbidden("viewers cannot have quick replies")
		}
		if q.OwnerID == w.UserID || w.Role == RoleAdmin || w.system() {
			return nil
		}
		return forbidden("someone else's quick reply")
	}
	return fmt.Errorf("%w: quick reply scope %q", ErrInvalid, q.Scope)
}

// autoAccepts: does a reply by w to a NEW episode accept it (T8)?
func (r *Router) autoAccepts(w who) bool {
	if r.Settings().NoAutoAccept || w.system() {
		return false
	}
	if r.Settings().NoAutoAcceptSupervisors && w.manager() {
		return false
	}
	return true
}
