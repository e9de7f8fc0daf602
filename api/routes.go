package api

import (
	"net/http"

	"github.com/smsgw/smsgw/auth"
)

const (
	get   = http.MethodGet
	post  = http.MethodPost
	put   = http.MethodPut
	patch = http.MethodPatch
	del   = http.MethodDelete
)

var (
	pageQuery = []string{"cursor", "limit"}
	convQuery = []string{"status", "owner", "queue", "line", "tag", "contact", "archived", "unread", "needs_reply", "q", "include", "cursor", "limit"}
	msgQuery  = []string{"direction", "status", "kind", "peer", "line", "since", "until", "cursor", "limit"}
)

// routes is the route table: the only place routes and their scopes are declared.
func (a *API) routes() []route {
	return []route{
		// Session
		{Method: post, Path: "/login", Scope: scopePublic, Tag: "session", Summary: "Log in; sets the session cookie and returns the CSRF token", Body: loginRequest{}, h: a.login},
		{Method: post, Path: "/logout", Scope: scopeAny, Tag: "session", Summary: "End the browser session", h: a.logout},
		{Method: get, Path: "/me", Scope: scopeAny, Tag: "session", Summary: "Who am I: user, role, scopes, CSRF token", h: a.me},
		{Method: post, Path: "/me/password", Scope: scopeAny, Tag: "session", Summary: "Change my password", Body: passwordChange{}, h: a.changePassword},
		{Method: get, Path: "/openapi.json", Scope: scopeAny, Tag: "meta", Summary: "This API's OpenAPI 3 document", h: a.openapi},
		{Method: get, Path: "/events", Scope: auth.ScopeInboxRead, Tag: "events", Summary: "Server-Sent Events stream of what the caller may see (Last-Event-ID resumes)", Query: []string{"last_event_id"}, h: a.events},

		// Messages
		{Method: post, Path: "/messages", Scope: auth.ScopeMessagesSend, Tag: "messages", Summary: "Send one SMS (202; Idempotency-Key header or field makes repeats safe)", Body: sendRequest{}, h: a.sendMessage},
		{Method: post, Path: "/messages/batch", Scope: auth.ScopeMessagesSend, Tag: "messages", Summary: "Send up to 500 SMS in one transaction", Body: batchRequest{}, h: a.sendBatch},
		{Method: get, Path: "/messages", Scope: auth.ScopeMessagesRead, Tag: "messages", Summary: "List messages, newest first", Query: msgQuery, h: a.listMessages},
		{Method: get, Path: "/messages/{id}", Scope: auth.ScopeMessagesRead, Tag: "messages", Summary: "A message with its parts and their delivery states", h: a.getMessage},
		{Method: post, Path: "/messages/{id}/cancel", Scope: auth.ScopeMessagesSend, Tag: "messages", Summary: "Cancel a message none of whose parts was submitted", h: a.cancelMessage},
		{Method: post, Path: "/messages/{id}/resend", Scope: auth.ScopeMessagesSend, Tag: "messages", Summary: "Queue again the parts whose outcome is unknown", h: a.resendMessage},
		{Method: post, Path: "/messages/preview", Scope: scopeAny, Tag: "messages", Summary: "Encoding and segment count of a text", Body: previewRequest{}, h: a.preview},
		{Method: post, Path: "/pdu/decode", Scope: auth.ScopeModemsRead, Tag: "modems", Summary: "Decode a hex PDU", Body: pduRequest{}, h: a.decodePDU},

		// Conversations
		{Method: get, Path: "/conversations", Scope: auth.ScopeInboxRead, Tag: "conversations", Summary: "List conversations, newest activity first", Query: convQuery, h: a.listConversations},
		{Method: post, Path: "/conversations", Scope: auth.ScopeInboxWrite, Tag: "conversations", Summary: "Start an outbound conversation", Body: startRequest{}, h: a.startConversation},
		{Method: get, Path: "/conversations/counts", Scope: auth.ScopeInboxRead, Tag: "conversations", Summary: "Badge counts for the caller", h: a.counts},
		{Method: post, Path: "/conversations/bulk", Scope: auth.ScopeInboxWrite, Tag: "conversations", Summary: "One action on up to 100 conversations", Body: bulkRequest{}, h: a.bulk},
		{Method: get, Path: "/conversations/{id}", Scope: auth.ScopeInboxRead, Tag: "conversations", Summary: "A conversation with contact, tags and read state", h: a.getConversation},
		{Method: post, Path: "/conversations/{id}/accept", Scope: auth.ScopeInboxWrite, Tag: "conversations", Summary: "Accept (first one wins; 409 names the winner)", h: a.convAction("accept")},
		{Method: post, Path: "/conversations/{id}/release", Scope: auth.ScopeInboxWrite, Tag: "conversations", Summary: "Release to the queue", h: a.convAction("release")},
		{Method: post, Path: "/conversations/{id}/assign", Scope: auth.ScopeInboxWrite, Tag: "conversations", Summary: "Assign to a user", Body: assignRequest{}, h: a.assign},
		{Method: post, Path: "/conversations/{id}/snooze", Scope: auth.ScopeInboxWrite, Tag: "conversations", Summary: "Snooze until a time and/or the next reply", Body: snoozeRequest{}, h: a.snooze},
		{Method: post, Path: "/conversations/{id}/resolve", Scope: auth.ScopeInboxWrite, Tag: "conversations", Summary: "Resolve", h: a.convAction("resolve")},
		{Method: post, Path: "/conversations/{id}/reopen", Scope: auth.ScopeInboxWrite, Tag: "conversations", Summary: "Reopen", h: a.convAction("reopen")},
		{Method: post, Path: "/conversations/{id}/archive", Scope: auth.ScopeInboxWrite, Tag: "conversations", Summary: "Archive (resolved or closed only)", h: a.convAction("archive")},
		{Method: post, Path: "/conversations/{id}/unarchive", Scope: auth.ScopeInboxWrite, Tag: "conversations", Summary: "Show again in the default lists", h: a.convAction("unarchive")},
		{Method: post, Path: "/conversations/{id}/read", Scope: auth.ScopeInboxRead, Tag: "conversations", Summary: "Move my read marker (to the newest message, or up_to_message_id)", Body: readRequest{}, h: a.markRead},
		{Method: post, Path: "/conversations/{id}/unread", Scope: auth.ScopeInboxRead, Tag: "conversations", Summary: "Mark unread for me", h: a.markUnread},
		{Method: post, Path: "/conversations/{id}/priority", Scope: auth.ScopeInboxWrite, Tag: "conversations", Summary: "Set the priority", Body: priorityRequest{}, h: a.setPriority},
		{Method: post, Path: "/conversations/{id}/needs-reply", Scope: auth.ScopeInboxWrite, Tag: "conversations", Summary: "Set or clear the team-wide needs-reply flag", Body: needsReplyRequest{}, h: a.setNeedsReply},
		{Method: get, Path: "/conversations/{id}/messages", Scope: auth.ScopeInboxRead, Tag: "conversations", Summary: "The thread's messages, newest first (cursor pages back)", Query: pageQuery, h: a.convMessages},
		{Method: post, Path: "/conversations/{id}/messages", Scope: auth.ScopeInboxWrite, Tag: "conversations", Summary: "Reply by SMS", Body: replyRequest{}, h: a.reply},
		{Method: get, Path: "/conversations/{id}/notes", Scope: auth.ScopeInboxRead, Tag: "conversations", Summary: "Internal notes, newest first", Query: pageQuery, h: a.notes},
		{Method: post, Path: "/conversations/{id}/notes", Scope: auth.ScopeInboxWrite, Tag: "conversations", Summary: "Add an internal note (never sent)", Body: noteRequest{}, h: a.addNote},
		{Method: get, Path: "/conversations/{id}/activity", Scope: auth.ScopeInboxRead, Tag: "conversations", Summary: "The activity log", h: a.activity},
		{Method: put, Path: "/conversations/{id}/tags/{tag}", Scope: auth.ScopeInboxWrite, Tag: "conversations", Summary: "Add a tag", h: a.tag(true)},
		{Method: del, Path: "/conversations/{id}/tags/{tag}", Scope: auth.ScopeInboxWrite, Tag: "conversations", Summary: "Remove a tag", h: a.tag(false)},
		{Method: get, Path: "/tags", Scope: auth.ScopeInboxRead, Tag: "conversations", Summary: "Every tag in use", h: a.tags},
		{Method: get, Path: "/queues", Scope: auth.ScopeInboxRead, Tag: "conversations", Summary: "Queues", h: a.queues},

		// Quick replies
		{Method: get, Path: "/quick-replies", Scope: auth.ScopeInboxRead, Tag: "quick replies", Summary: "Quick replies the caller may use", h: a.quickReplies},
		{Method: post, Path: "/quick-replies", Scope: auth.ScopeInboxWrite, Tag: "quick replies", Summary: "Create a quick reply", Body: quickReplyRequest{}, h: a.saveQuickReply},
		{Method: put, Path: "/quick-replies/{id}", Scope: auth.ScopeInboxWrite, Tag: "quick replies", Summary: "Change a quick reply", Body: quickReplyRequest{}, h: a.saveQuickReply},
		{Method: del, Path: "/quick-replies/{id}", Scope: auth.ScopeInboxWrite, Tag: "quick replies", Summary: "Delete a quick reply", h: a.deleteQuickReply},

		// Contacts
		{Method: get, Path: "/contacts", Scope: auth.ScopeContactsRead, Tag: "contacts", Summary: "List or search contacts (q: words of the name, digits of a number)", Query: []string{"q", "cursor", "limit"}, h: a.listContacts},
		{Method: post, Path: "/contacts", Scope: auth.ScopeContactsWrite, Tag: "contacts", Summary: "Create a contact", Body: contactRequest{}, h: a.createContact},
		{Method: get, Path: "/contacts/export.csv", Scope: auth.ScopeContactsRead, Tag: "contacts", Summary: "Export contacts as CSV (formula prefixes neutralised)", h: a.exportContacts},
		{Method: post, Path: "/contacts/import", Scope: auth.ScopeContactsWrite, Tag: "contacts", Summary: "Import contacts from CSV (name,number[,type])", MaxBody: 8 << 20, h: a.importContacts},
		{Method: get, Path: "/contacts/{id}", Scope: auth.ScopeContactsRead, Tag: "contacts", Summary: "A contact", h: a.getContact},
		{Method: patch, Path: "/contacts/{id}", Scope: auth.ScopeContactsWrite, Tag: "contacts", Summary: "Change name, type or custom fields", Body: contactPatch{}, h: a.updateContact},
		{Method: del, Path: "/contacts/{id}", Scope: auth.ScopeContactsWrite, Tag: "contacts", Summary: "Delete a contact (admins); force=true also deletes its conversations and messages", Query: []string{"force"}, h: a.deleteContact},
		{Method: post, Path: "/contacts/{id}/numbers", Scope: auth.ScopeContactsWrite, Tag: "contacts", Summary: "Add a number", Body: numberRequest{}, h: a.addNumber},
		{Method: del, Path: "/contacts/{id}/numbers/{number}", Scope: auth.ScopeContactsWrite, Tag: "contacts", Summary: "Remove a number", h: a.removeNumber},
		{Method: post, Path: "/contacts/{id}/merge", Scope: auth.ScopeContactsWrite, Tag: "contacts", Summary: "Merge another contact into this one (admins)", Body: mergeRequest{}, h: a.merge},
		{Method: post, Path: "/contacts/{id}/block", Scope: auth.ScopeContactsWrite, Tag: "contacts", Summary: "Block or unblock", Body: blockRequest{}, h: a.block},
		{Method: post, Path: "/contacts/{id}/opt-out", Scope: auth.ScopeContactsWrite, Tag: "contacts", Summary: "Record an opt-out or opt-in", Body: optOutRequest{}, h: a.optOut},

		// Lines and modems (system alerts: package alert, /api/v1/system-alerts)
		{Method: get, Path: "/lines", Scope: auth.ScopeModemsRead, Tag: "modems", Summary: "Lines and the queues they feed", h: a.lines},
		{Method: get, Path: "/modems", Scope: auth.ScopeModemsRead, Tag: "modems", Summary: "Modem status", h: a.modems},
		{Method: get, Path: "/modems/{name}", Scope: auth.ScopeModemsRead, Tag: "modems", Summary: "One modem's status", h: a.modem},
		{Method: get, Path: "/modems/{name}/trace", Scope: auth.ScopeModemsAdmin, Tag: "modems", Summary: "Download the AT trace (text)", h: a.trace},
		{Method: post, Path: "/modems/{name}/ussd", Scope: auth.ScopeModemsAdmin, Tag: "modems", Summary: "Send a USSD code and return the answer", Body: ussdRequest{}, h: a.ussd},

		// Users and availability
		{Method: get, Path: "/users", Scope: auth.ScopeInboxRead, Tag: "users", Summary: "Users with role, availability and queues", h: a.users},
		{Method: post, Path: "/users", Scope: auth.ScopeAdmin, Tag: "users", Summary: "Create a user", Body: userRequest{}, h: a.createUser},
		{Method: patch, Path: "/users/{id}", Scope: auth.ScopeAdmin, Tag: "users", Summary: "Change a user's name, role or disabled flag", Body: userPatch{}, h: a.updateUser},
		{Method: post, Path: "/users/{id}/password", Scope: auth.ScopeAdmin, Tag: "users", Summary: "Set a user's password (ends their sessions)", Body: setPassword{}, h: a.setPassword},
		{Method: put, Path: "/users/{id}/availability", Scope: auth.ScopeInboxRead, Tag: "users", Summary: "Set availability (ready, busy, away): yourself, or anyone as a supervisor", Body: availabilityRequest{}, h: a.setAvailability},

		// In-app alerts
		{Method: get, Path: "/alerts", Scope: auth.ScopeInboxRead, Tag: "alerts", Summary: "My in-app alerts (state=active|read|superseded|expired)", Query: []string{"state"}, h: a.alerts},
		{Method: post, Path: "/alerts/{id}/read", Scope: auth.ScopeInboxRead, Tag: "alerts", Summary: "Mark an alert read", h: a.alertRead},

		// API tokens
		{Method: get, Path: "/tokens", Scope: scopeAny, Tag: "tokens", Summary: "My API tokens (all=true: everyone's, admins)", Query: []string{"all"}, h: a.listTokens},
		{Method: post, Path: "/tokens", Scope: scopeAny, Tag: "tokens", Summary: "Create an API token; the plaintext is returned once", Body: tokenRequest{}, h: a.createToken},
		{Method: del, Path: "/tokens/{id}", Scope: scopeAny, Tag: "tokens", Summary: "Revoke a token (yours, or any as admin)", h: a.revokeToken},

		// Webhooks
		{Method: get, Path: "/webhooks", Scope: auth.ScopeWebhooksAdmin, Tag: "webhooks", Summary: "Webhooks", h: a.listWebhooks},
		{Method: post, Path: "/webhooks", Scope: auth.ScopeWebhooksAdmin, Tag: "webhooks", Summary: "Create a webhook; the secret is returned once", Body: webhookRequest{}, h: a.createWebhook},
		{Method: get, Path: "/webhooks/event-types", Scope: auth.ScopeWebhooksAdmin, Tag: "webhooks", Summary: "Event types a webhook can subscribe to", h: a.eventTypes},
		{Method: get, Path: "/webhooks/{id}", Scope: auth.ScopeWebhooksAdmin, Tag: "webhooks", Summary: "A webhook", h: a.getWebhook},
		{Method: put, Path: "/webhooks/{id}", Scope: auth.ScopeWebhooksAdmin, Tag: "webhooks", Summary: "Change a webhook (empty secret keeps it)", Body: webhookRequest{}, h: a.updateWebhook},
		{Method: del, Path: "/webhooks/{id}", Scope: auth.ScopeWebhooksAdmin, Tag: "webhooks", Summary: "Delete a webhook and its log", h: a.deleteWebhook},
		{Method: post, Path: "/webhooks/{id}/ping", Scope: auth.ScopeWebhooksAdmin, Tag: "webhooks", Summary: "Queue a webhook.ping delivery", h: a.pingWebhook},
		{Method: post, Path: "/webhooks/{id}/replay", Scope: auth.ScopeWebhooksAdmin, Tag: "webhooks", Summary: "Queue again every failed delivery since a time", Body: replayRequest{}, h: a.replayWebhook},
		{Method: get, Path: "/webhooks/{id}/deliveries", Scope: auth.ScopeWebhooksAdmin, Tag: "webhooks", Summary: "Delivery log, newest first", Query: pageQuery, h: a.deliveries},
		{Method: get, Path: "/webhooks/{id}/deliveries/{delivery}", Scope: auth.ScopeWebhooksAdmin, Tag: "webhooks", Summary: "A delivery with its payload and attempts", h: a.delivery},
		{Method: post, Path: "/webhooks/{id}/deliveries/{delivery}/redeliver", Scope: auth.ScopeWebhooksAdmin, Tag: "webhooks", Summary: "Deliver again (same event id)", h: a.redeliver},
	}
}
