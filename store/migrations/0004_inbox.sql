-- The team inbox (docs/inbox.md): contacts and their numbers, queues of agents, lines,
-- threads (contact × line, permanent), conversation episodes with status and one owner,
-- read markers, alerts, tags, notes, quick replies and the activity log. Inbound PDUs get
-- the columns reassembly needs.

-- Parts of concatenated inbound messages wait here until their set is complete or the
-- reassembly timeout passes. group_key is the hex SHA-256 of (modem identity, sender,
-- reference, total); NULL for PDUs not yet decoded and for single messages.
ALTER TABLE inbound_pdus ADD COLUMN group_key TEXT;
ALTER TABLE inbound_pdus ADD COLUMN part_seq INTEGER;
ALTER TABLE inbound_pdus ADD COLUMN part_total INTEGER;
ALTER TABLE inbound_pdus ADD COLUMN parked_at TEXT;      -- router clock: reassembly timeout
CREATE INDEX inbound_parts ON inbound_pdus (group_key, part_seq) WHERE group_key IS NOT NULL;
CREATE INDEX inbound_message ON inbound_pdus (message_id) WHERE message_id IS NOT NULL;

-- A person or organisation that texts us. Numbers we have never seen create a lead.
CREATE TABLE contacts (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL DEFAULT '',
    type            TEXT NOT NULL DEFAULT 'lead' CHECK (type IN ('lead', 'customer')),
    language        TEXT NOT NULL DEFAULT '',        -- keyword language that matched last
    opted_out       INTEGER NOT NULL DEFAULT 0 CHECK (opted_out IN (0, 1)),
    opted_out_at    TEXT,
    -- the opt-out / opt-in confirmation still to send ('' = nothing pending)
    confirm_pending TEXT NOT NULL DEFAULT '' CHECK (confirm_pending IN ('', 'out', 'in')),
    confirm_key     TEXT NOT NULL DEFAULT '',        -- idempotency key of that confirmation
    confirm_line    TEXT NOT NULL DEFAULT '',
    confirm_number  TEXT NOT NULL DEFAULT '',
    blocked         INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
    fields          TEXT NOT NULL DEFAULT '{}',      -- custom fields, JSON object of strings
    merged_into     INTEGER REFERENCES contacts (id),
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE INDEX contacts_name ON contacts (name COLLATE NOCASE, id) WHERE merged_into IS NULL;
CREATE INDEX contacts_confirm ON contacts (id) WHERE confirm_pending <> '';

-- A number (E.164) or alphanumeric sender id belongs to exactly one contact.
CREATE TABLE contact_numbers (
    number     TEXT PRIMARY KEY NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE INDEX contact_numbers_contact ON contact_numbers (contact_id);

-- A queue is a team: its members see the lines routed to it.
CREATE TABLE queues (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE COLLATE NOCASE,
    -- T11: release an owned conversation whose customer waited this long (0 = off)
    ownership_timeout INTEGER NOT NULL DEFAULT 0 CHECK (ownership_timeout >= 0),
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

INSERT INTO queues (id, name) VALUES (1, 'default');

CREATE TABLE queue_members (
    queue_id INTEGER NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (queue_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX queue_members_user ON queue_members (user_id, queue_id);

-- A line is one sending identity (a SIM, or SIMs acting as one number). New lines are
-- created on first use in the default queue.
CREATE TABLE lines (
    name                TEXT PRIMARY KEY NOT NULL,
    queue_id            INTEGER NOT NULL DEFAULT 1 REFERENCES queues (id),
    escalate_owner_away INTEGER NOT NULL DEFAULT 0 CHECK (escalate_owner_away IN (0, 1)),
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- Agent state beside users: availability drives who gets queue alerts.
CREATE TABLE agents (
    user_id      INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    availability TEXT NOT NULL DEFAULT 'away' CHECK (availability IN ('ready', 'busy', 'away')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- One contact on one line: the permanent message history. messages.thread_id points here.
CREATE TABLE threads (
    id               INTEGER PRIMARY KEY,
    contact_id       INTEGER NOT NULL REFERENCES contacts (id),
    line             TEXT NOT NULL,
    peer             TEXT NOT NULL,                  -- the number the contact last used here
    job_ref          TEXT NOT NULL DEFAULT '',       -- T19: the job of the last business alert
    job_owner_id     INTEGER REFERENCES users (id),
    last_message_id  INTEGER,
    last_activity_at TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    UNIQUE (contact_id, line)
) STRICT;

CREATE INDEX threads_activity ON threads (last_activity_at, id);

-- One episode of work in a thread. Invariants (INBOX.md): NEW ⇔ unowned; OPEN ⇔ owned;
-- RESOLVED and CLOSED are unowned; at most one episode per thread is not CLOSED.
CREATE TABLE conversations (
    id                INTEGER PRIMARY KEY,
    thread_id         INTEGER NOT NULL REFERENCES threads (id),
    contact_id        INTEGER NOT NULL REFERENCES contacts (id),
    line              TEXT NOT NULL,
    queue_id          INTEGER NOT NULL REFERENCES queues (id),
    status            TEXT NOT NULL CHECK (status IN ('NEW', 'OPEN', 'SNOOZED', 'RESOLVED', 'CLOSED')),
    owner_id          INTEGER REFERENCES users (id),
    last_owner_id     INTEGER REFERENCES users (id),
    priority          INTEGER NOT NULL DEFAULT 0,
    snoozed_until     TEXT,
    wake_on_reply     INTEGER NOT NULL DEFAULT 0 CHECK (wake_on_reply IN (0, 1)),
    needs_reply       INTEGER NOT NULL DEFAULT 0 CHECK (needs_reply IN (0, 1)),
    waiting_since     TEXT,                          -- first unanswered inbound message
    owner_activity_at TEXT,                          -- last thing the owner did here (T11)
    first_response_at TEXT,
    resolved_at       TEXT,
    resolved_by       INTEGER REFERENCES users (id),
    resolve_reason    TEXT NOT NULL DEFAULT '',
    closed_at         TEXT,
    reopen_count      INTEGER NOT NULL DEFAULT 0,
    previous_id       INTEGER REFERENCES conversations (id),
    job_ref           TEXT NOT NULL DEFAULT '',
    muted             INTEGER NOT NULL DEFAULT 0 CHECK (muted IN (0, 1)),
    archived          INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    first_message_id  INTEGER,
    last_message_id   INTEGER,
    last_inbound_id   INTEGER,
    last_activity_at  TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    CHECK (status <> 'NEW' OR owner_id IS NULL),
    CHECK (status <> 'OPEN' OR owner_id IS NOT NULL),
    CHECK (status NOT IN ('RESOLVED', 'CLOSED') OR owner_id IS NULL),
    CHECK (status = 'SNOOZED' OR snoozed_until IS NULL)
) STRICT;

CREATE UNIQUE INDEX conversations_live ON conversations (thread_id) WHERE status <> 'CLOSED';
CREATE INDEX conversations_thread ON conversations (thread_id, id);
-- Keyset paging (last_activity_at DESC, id DESC) under each list filter.
CREATE INDEX conversations_by_activity ON conversations (archived, last_activity_at, id);
CREATE INDEX conversations_by_status ON conversations (status, archived, last_activity_at, id);
CREATE INDEX conversations_by_owner ON conversations (owner_id, status, last_activity_at, id) WHERE owner_id IS NOT NULL;
CREATE INDEX conversations_by_queue ON conversations (queue_id, status, last_activity_at, id);
CREATE INDEX conversations_by_line ON conversations (line, status, last_activity_at, id);
CREATE INDEX conversations_by_contact ON conversations (contact_id, id);
-- Sweeps: snooze wake (T13), grace end (T15), ownership timeout (T11).
CREATE INDEX conversations_snoozed ON conversations (snoozed_until) WHERE status = 'SNOOZED';
CREATE INDEX conversations_resolved ON conversations (resolved_at) WHERE status = 'RESOLVED';
CREATE INDEX conversations_waiting ON conversations (waiting_since) WHERE status = 'OPEN' AND needs_reply = 1;

-- Per-user read position in a conversation (T18: mark unread moves only mine).
CREATE TABLE read_markers (
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    last_read_id    INTEGER NOT NULL DEFAULT 0,      -- messages.id read up to
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
) STRICT, WITHOUT ROWID;

-- People following a conversation besides its owner (mentioned, or added by hand).
CREATE TABLE participants (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason          TEXT NOT NULL DEFAULT 'mention',
    created_at      TEXT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
) STRICT, WITHOUT ROWID;

-- One alert per (recipient, conversation, reason). A further message updates it
-- (count, last message) rather than adding another.
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    reason          TEXT NOT NULL CHECK (reason IN ('queue', 'owner', 'assigned', 'unassigned', 'mention')),
    channel         TEXT NOT NULL DEFAULT 'inapp',
    state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'read', 'superseded', 'expired')),
    note            TEXT NOT NULL DEFAULT '',        -- "accepted by Ana", "snooze ended", ...
    message_id      INTEGER,                         -- the latest message it is about
    count           INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    UNIQUE (user_id, conversation_id, reason)
) STRICT;

CREATE INDEX alerts_user ON alerts (user_id, state, updated_at, id);
CREATE INDEX alerts_conversation ON alerts (conversation_id, state);
CREATE INDEX alerts_expiry ON alerts (expires_at) WHERE state = 'active';

CREATE TABLE tags (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE conversation_tags (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    tag_id          INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, tag_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX conversation_tags_tag ON conversation_tags (tag_id, conversation_id);

-- Internal notes: shown in the thread, never sent.
CREATE TABLE notes (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    thread_id       INTEGER NOT NULL REFERENCES threads (id),
    author_id       INTEGER NOT NULL REFERENCES users (id),
    body            TEXT NOT NULL,
    created_at      TEXT NOT NULL
) STRICT;

CREATE INDEX notes_thread ON notes (thread_id, id);

-- Quick replies (canned responses) with {{variables}}; scope decides who sees them.
CREATE TABLE quick_replies (
    id         INTEGER PRIMARY KEY,
    scope      TEXT NOT NULL CHECK (scope IN ('personal', 'queue', 'global')),
    owner_id   INTEGER REFERENCES users (id) ON DELETE CASCADE,  -- personal
    queue_id   INTEGER REFERENCES queues (id) ON DELETE CASCADE, -- queue
    shortcut   TEXT NOT NULL,
    body       TEXT NOT NULL,
    fields     TEXT NOT NULL DEFAULT '[]',       -- JSON list of fields the agent fills in
    created_by INTEGER REFERENCES users (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK ((scope = 'personal') = (owner_id IS NOT NULL)),
    CHECK ((scope = 'queue') = (queue_id IS NOT NULL))
) STRICT;

CREATE INDEX quick_replies_shortcut ON quick_replies (shortcut, id);

-- What happened to a conversation, by whom, when.
CREATE TABLE activity (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    actor_id        INTEGER REFERENCES users (id),   -- NULL: the system or the customer
    action          TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL
) STRICT;

CREATE INDEX activity_conversation ON activity (conversation_id, id);
