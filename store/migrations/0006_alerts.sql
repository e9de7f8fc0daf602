-- Jobs (the dispatch use case), business SMS alert templates and rules, the log of
-- alert sends (dedupe window, delay while the customer is chatting), the outbound SMS
-- the three-way relay owes after a commit, and system alert incidents (docs/alerts.md).

-- A job the business system told us about. Ending it (active = 0) ends its relays.
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,
    ref             TEXT NOT NULL UNIQUE,            -- the business system's reference ("1042")
    status          TEXT NOT NULL DEFAULT 'created', -- created, scheduled, started, completed, cancelled, ...
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    contact_id      INTEGER REFERENCES contacts (id),
    customer_name   TEXT NOT NULL DEFAULT '',
    customer_number TEXT NOT NULL DEFAULT '',        -- E.164 ('' = none)
    site_name       TEXT NOT NULL DEFAULT '',
    site_number     TEXT NOT NULL DEFAULT '',
    billing_name    TEXT NOT NULL DEFAULT '',
    billing_number  TEXT NOT NULL DEFAULT '',
    dispatcher_id   INTEGER REFERENCES users (id),   -- owner of customer replies
    worker_name     TEXT NOT NULL DEFAULT '',
    worker_phone    TEXT NOT NULL DEFAULT '',        -- E.164; '' = no three-way relay
    line            TEXT NOT NULL DEFAULT '',        -- line to text from ('' = the default)
    fields          TEXT NOT NULL DEFAULT '{}',      -- JSON object of strings (eta, ...)
    ended_at        TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;

CREATE INDEX jobs_worker ON jobs (worker_phone, id) WHERE active = 1 AND worker_phone <> '';
CREATE INDEX jobs_customer ON jobs (customer_number, id) WHERE active = 1 AND customer_number <> '';
CREATE INDEX jobs_site ON jobs (site_number, id) WHERE active = 1 AND site_number <> '';
CREATE INDEX jobs_updated ON jobs (active, updated_at, id);

-- Business SMS templates with {{tokens}}.
CREATE TABLE alert_templates (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- "When job event X happens (and the job's fields match), send template T to these
-- recipients."
CREATE TABLE alert_rules (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL DEFAULT '',
    event         TEXT NOT NULL,                     -- created, eta_set, started, completed, or a custom name
    template_id   INTEGER NOT NULL REFERENCES alert_templates (id),
    recipients    TEXT NOT NULL DEFAULT '[]',        -- JSON: "customer", "site", "billing", "worker" or numbers
    filters       TEXT NOT NULL DEFAULT '{}',        -- JSON object: job field → required value
    dedupe_window INTEGER NOT NULL DEFAULT 0 CHECK (dedupe_window >= 0), -- seconds; 0 = the default
    line          TEXT NOT NULL DEFAULT '',
    enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

CREATE INDEX alert_rules_event ON alert_rules (event, id) WHERE enabled = 1;

-- Every alert a rule produced for a job and recipient: pending (waiting for its time:
-- the customer is chatting), sent (message_id set), skipped (opted out, duplicate,
-- blocked) or failed.
CREATE TABLE alert_sends (
    id         INTEGER PRIMARY KEY,
    rule_id    INTEGER REFERENCES alert_rules (id) ON DELETE SET NULL,
    job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    event      TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    line       TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'skipped', 'failed')),
    reason     TEXT NOT NULL DEFAULT '',
    due_at     TEXT NOT NULL,
    message_id INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE INDEX alert_sends_dedupe ON alert_sends (rule_id, job_id, recipient, created_at);
CREATE INDEX alert_sends_due ON alert_sends (due_at, id) WHERE state = 'pending';
CREATE INDEX alert_sends_job ON alert_sends (job_id, id);

-- SMS the three-way relay owes: written in the routing transaction, sent after it
-- commits with the idempotency key "relay:<id>", so a crash in between loses nothing.
CREATE TABLE job_relays (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER REFERENCES jobs (id) ON DELETE CASCADE, -- NULL for errors to a worker
    source_id   INTEGER,                         -- the inbound message relayed
    to_number   TEXT NOT NULL,
    line        TEXT NOT NULL DEFAULT '',
    thread_id   INTEGER,
    body        TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'cancelled', 'failed')),
    message_id  INTEGER,
    error       TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE INDEX job_relays_pending ON job_relays (id) WHERE state = 'pending';

-- One row per incident of a system check (modem offline, low balance, ...) on a
-- subject (a modem name, a webhook endpoint, or ''). At most one firing row per
-- (check, subject): an incident fires once and clears when resolved.
CREATE TABLE system_alerts (
    id         INTEGER PRIMARY KEY,
    check_name TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '',
    severity   TEXT NOT NULL DEFAULT 'warning' CHECK (severity IN ('info', 'warning', 'critical')),
    message    TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('firing', 'cleared')),
    notified   TEXT NOT NULL DEFAULT '',         -- channels that took the alert, comma-separated
    fired_at   TEXT NOT NULL,
    cleared_at TEXT,
    updated_at TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX system_alerts_firing ON system_alerts (check_name, subject) WHERE state = 'firing';
CREATE INDEX system_alerts_recent ON system_alerts (fired_at, id);
