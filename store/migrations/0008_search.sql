-- Full-text search over message text, contact names and contact numbers (FTS4: built
-- into mattn/go-sqlite3 without build tags, unlike FTS5), and a covering index for the
-- badge counts. The indexes are filled from the existing rows here and kept in step by
-- triggers, so every writer (router, queue, seed, backup restore) keeps them right.

-- Message bodies: external content (the text stays in messages only), docid =
-- messages.id. External-content FTS4 reads the old text to remove it, so the removing
-- triggers run BEFORE the change and the adding ones AFTER it.
CREATE VIRTUAL TABLE message_fts USING fts4(content="messages", body, tokenize=unicode61 "remove_diacritics=2");
INSERT INTO message_fts (message_fts) VALUES ('rebuild');

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_fts (docid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_before_update BEFORE UPDATE OF body ON messages BEGIN
    DELETE FROM message_fts WHERE docid = old.id;
END;
CREATE TRIGGER messages_fts_after_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO message_fts (docid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_delete BEFORE DELETE ON messages BEGIN
    DELETE FROM message_fts WHERE docid = old.id;
END;

-- Positions 1..64, to cut a number into its suffixes inside a trigger (triggers cannot
-- use WITH RECURSIVE).
CREATE TABLE search_positions (i INTEGER PRIMARY KEY CHECK (i BETWEEN 1 AND 64)) STRICT;
INSERT INTO search_positions (i)
    SELECT a.i * 8 + b.i + 1 FROM
    (SELECT 0 AS i UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7) a,
    (SELECT 0 AS i UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7) b;

-- Contacts: docid = contacts.id; name, and every suffix of every number of the contact
-- ("+15551234567 15551234567 5551234567 ... 67 7"), so that a prefix query on the
-- numbers finds any run of digits inside a number ("1234" finds +15551234567).
CREATE VIRTUAL TABLE contact_fts USING fts4(name, numbers, tokenize=unicode61 "remove_diacritics=2");
INSERT INTO contact_fts (docid, name, numbers)
    SELECT c.id, c.name, COALESCE((SELECT group_concat(substr(n.number, p.i), ' ')
        FROM contact_numbers n JOIN search_positions p ON p.i <= length(n.number)
        WHERE n.contact_id = c.id), '')
    FROM contacts c;

CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contact_fts (docid, name, numbers) VALUES (new.id, new.name, '');
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF name ON contacts BEGIN
    UPDATE contact_fts SET name = new.name WHERE docid = new.id;
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contact_fts WHERE docid = old.id;
END;

CREATE TRIGGER contact_numbers_fts_insert AFTER INSERT ON contact_numbers BEGIN
    UPDATE contact_fts SET numbers = COALESCE((SELECT group_concat(substr(n.number, p.i), ' ')
        FROM contact_numbers n JOIN search_positions p ON p.i <= length(n.number)
        WHERE n.contact_id = new.contact_id), '') WHERE docid = new.contact_id;
END;
CREATE TRIGGER contact_numbers_fts_update AFTER UPDATE ON contact_numbers BEGIN
    UPDATE contact_fts SET numbers = COALESCE((SELECT group_concat(substr(n.number, p.i), ' ')
        FROM contact_numbers n JOIN search_positions p ON p.i <= length(n.number)
        WHERE n.contact_id = old.contact_id), '') WHERE docid = old.contact_id;
    UPDATE contact_fts SET numbers = COALESCE((SELECT group_concat(substr(n.number, p.i), ' ')
        FROM contact_numbers n JOIN search_positions p ON p.i <= length(n.number)
        WHERE n.contact_id = new.contact_id), '') WHERE docid = new.contact_id;
END;
CREATE TRIGGER contact_numbers_fts_delete AFTER DELETE ON contact_numbers BEGIN
    UPDATE contact_fts SET numbers = COALESCE((SELECT group_concat(substr(n.number, p.i), ' ')
        FROM contact_numbers n JOIN search_positions p ON p.i <= length(n.number)
        WHERE n.contact_id = old.contact_id), '') WHERE docid = old.contact_id;
END;

-- Badge counts (store.CountConversations) read every live, visible episode: this index
-- holds every column they look at, so they never touch the table rows.
CREATE INDEX conversations_counts ON conversations
    (archived, status, queue_id, owner_id, last_owner_id, needs_reply, last_inbound_id)
    WHERE status <> 'CLOSED';
