-- The gateway's operational event log: what happened to modems, deliveries, system
-- alerts and inbound processing, kept for operators (the SMSGate /logs endpoint reads
-- it) and pruned after log.event_log_days.
CREATE TABLE event_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    level   TEXT NOT NULL CHECK (level IN ('info', 'warning', 'critical')),
    module  TEXT NOT NULL,
    message TEXT NOT NULL,
    context TEXT NOT NULL DEFAULT '{}'
) STRICT;

CREATE INDEX event_log_at ON event_log (at, id);
