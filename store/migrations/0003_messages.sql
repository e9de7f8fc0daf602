-- Messages in both directions, the parts of outbound messages (the queue), and the raw
-- inbound PDUs exactly as modems gave them.

-- One SMS conversation item: an outbound message (one row however many parts it has) or
-- an inbound message reassembled from its PDUs. thread_id is set by the router when the
-- message is placed in a conversation thread (no foreign key: threads come later).
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    uid             TEXT NOT NULL UNIQUE,            -- public id, random
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    -- customer: from a customer; agent: typed by a user; automated: alerts, templates,
    -- confirmations (held in quiet hours, refused to opted-out contacts); relay: three-way
    kind            TEXT NOT NULL DEFAULT 'customer'
                    CHECK (kind IN ('customer', 'agent', 'automated', 'relay', 'api')),
    peer            TEXT NOT NULL,                   -- the other party: E.164 or sender id
    line            TEXT NOT NULL DEFAULT '',        -- out: requested line ('' = any); in: receiving line
    modem           TEXT NOT NULL DEFAULT '',        -- in: receiving modem; out: modem that sent part 1
    thread_id       INTEGER,
    body            TEXT NOT NULL,
    encoding        TEXT NOT NULL CHECK (encoding IN ('gsm7', 'ucs2', '8bit')),
    segments        INTEGER NOT NULL CHECK (segments >= 1),
    -- out: queued, sending, sent, delivered, failed, expired, unknown, cancelled (rolled up
    -- from parts); in: received, incomplete (delivered after the reassembly timeout)
    status          TEXT NOT NULL,
    error           TEXT NOT NULL DEFAULT '',
    priority        INTEGER NOT NULL DEFAULT 0,
    send_at         TEXT,                            -- not before (UTC, RFC 3339)
    expires_at      TEXT,                            -- give up after
    report          INTEGER NOT NULL DEFAULT 1 CHECK (report IN (0, 1)),
    idempotency_key TEXT UNIQUE,
    external_id     TEXT NOT NULL DEFAULT '',
    author_id       INTEGER,                         -- user who wrote it (agent messages)
    sent_time       TEXT,                            -- in: service-centre time stamp
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE INDEX messages_thread ON messages (thread_id, id) WHERE thread_id IS NOT NULL;
CREATE INDEX messages_open_out ON messages (status, id)
    WHERE direction = 'out' AND status IN ('queued', 'sending', 'unknown');
CREATE INDEX messages_peer ON messages (peer, id);
CREATE INDEX messages_external ON messages (external_id) WHERE external_id <> '';

-- One SMS part of an outbound message: the unit the modem sends and the network reports on.
-- queued → submitting → sent(mr) → delivered | failed | expired; unknown when the process
-- or modem died while submitting; cancelled before submission.
CREATE TABLE parts (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL CHECK (seq >= 1),
    total           INTEGER NOT NULL CHECK (total >= 1),
    pdu             BLOB NOT NULL,                   -- SMSC field + TPDU, TP-MR 0
    tpdu_len        INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'queued' CHECK (state IN
                    ('queued', 'submitting', 'sent', 'delivered', 'failed', 'expired', 'unknown', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    modem           TEXT NOT NULL DEFAULT '',
    mr              INTEGER,                         -- TP-MR from +CMGS
    submitted_at    TEXT,
    report_status   INTEGER,                         -- TP-ST of the status report
    reported_at     TEXT,
    error           TEXT NOT NULL DEFAULT '',
    error_class     TEXT NOT NULL DEFAULT '',
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (message_id, seq)
) STRICT;

CREATE INDEX parts_queued ON parts (state, next_attempt_at) WHERE state = 'queued';
CREATE INDEX parts_reports ON parts (modem, mr, submitted_at) WHERE state = 'sent';
CREATE INDEX parts_submitting ON parts (state) WHERE state = 'submitting';

-- Every PDU a modem handed us, committed before the modem deletes it. The dedupe key
-- (hash of modem IMSI and PDU bytes) makes a PDU read twice (crash between commit and
-- delete) a no-op. The router decodes unprocessed rows into messages and status reports.
CREATE TABLE inbound_pdus (
    id           INTEGER PRIMARY KEY,
    dedupe_key   TEXT NOT NULL UNIQUE,
    modem        TEXT NOT NULL,
    imei         TEXT NOT NULL DEFAULT '',
    imsi         TEXT NOT NULL DEFAULT '',
    storage      TEXT NOT NULL DEFAULT '',
    idx          INTEGER NOT NULL DEFAULT -1,
    pdu          BLOB NOT NULL,
    received_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    processed_at TEXT,                               -- NULL until the router took it
    message_id   INTEGER REFERENCES messages (id),   -- the message it became part of
    error        TEXT NOT NULL DEFAULT ''            -- why it could not be decoded
) STRICT;

CREATE INDEX inbound_unprocessed ON inbound_pdus (id) WHERE processed_at IS NULL;

-- Concatenation references, one counter per modem, so parts of different long messages
-- from one SIM never share a reference.
CREATE TABLE concat_refs (
    modem TEXT PRIMARY KEY NOT NULL,
    next  INTEGER NOT NULL DEFAULT 0
) STRICT;
