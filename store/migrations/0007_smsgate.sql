-- The SMSGate-compatible API (package smsgate): devices, messages as SMSGate clients
-- see them, issued JWTs, and SMSGate-format webhooks on top of the webhook queue.

-- Webhooks get a delivery format: native (our envelope and X-Smsgw-Signature) or
-- smsgate (the upstream envelope, X-Signature/X-Timestamp and its retry schedule).
-- retry_count bounds the retries of smsgate-format webhooks (0 = the format's default).
ALTER TABLE webhooks ADD COLUMN format TEXT NOT NULL DEFAULT 'native' CHECK (format IN ('native', 'smsgate'));
ALTER TABLE webhooks ADD COLUMN retry_count INTEGER NOT NULL DEFAULT 0 CHECK (retry_count >= 0);

-- One SMSGate device per modem, known by its identity ("imei:..." or, without an IMEI,
-- "iccid:..."), so that its 21-character id stays the same across restarts and ports.
CREATE TABLE smsgate_devices (
    id         TEXT PRIMARY KEY NOT NULL,
    identity   TEXT NOT NULL UNIQUE,
    modem      TEXT NOT NULL DEFAULT '',           -- the modem's current name
    name       TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_seen  TEXT                                -- last time the modem was ready
) STRICT;
CREATE INDEX smsgate_devices_modem ON smsgate_devices (modem);

-- An SMSGate message: one per POST, one outbox message per recipient. states holds the
-- first time each message-level state was reached (JSON object), state the latest.
CREATE TABLE smsgate_messages (
    id          TEXT PRIMARY KEY NOT NULL,         -- the client's id, or generated
    device_id   TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL,
    with_report INTEGER NOT NULL CHECK (with_report IN (0, 1)),
    sim_number  INTEGER,
    state       TEXT NOT NULL,
    states      TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX smsgate_messages_created ON smsgate_messages (created_at, id);

-- A recipient of an SMSGate message and the outbox message that carries it. state is
-- the last recipient state webhooks were queued for.
CREATE TABLE smsgate_recipients (
    message_id TEXT NOT NULL REFERENCES smsgate_messages (id) ON DELETE CASCADE,
    idx        INTEGER NOT NULL,
    phone      TEXT NOT NULL,
    outbox_uid TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'Pending',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (message_id, idx)
) STRICT;
CREATE INDEX smsgate_recipients_uid ON smsgate_recipients (outbox_uid);
CREATE INDEX smsgate_recipients_open ON smsgate_recipients (updated_at)
    WHERE state IN ('Pending', 'Processed', 'Sent');

-- SMSGate webhook registrations: the client's id, its event and device, and the
-- smsgate-format row of webhooks that delivers it.
CREATE TABLE smsgate_webhooks (
    id         TEXT PRIMARY KEY NOT NULL,
    webhook_id INTEGER NOT NULL UNIQUE REFERENCES webhooks (id) ON DELETE CASCADE,
    event      TEXT NOT NULL,
    device_id  TEXT                                -- NULL: every device
) STRICT;

-- Issued JWTs (HS256): revocation and one-time refresh tokens.
CREATE TABLE smsgate_tokens (
    jti        TEXT PRIMARY KEY NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    parent     TEXT NOT NULL DEFAULT '',           -- refresh: the access token it renews
    scopes     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;
CREATE INDEX smsgate_tokens_parent ON smsgate_tokens (parent) WHERE parent <> '';
