package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// InboundPDU is one PDU exactly as a modem handed it over, before the modem deletes
// it. It mirrors modem.Inbound with plain fields so that store does not import modem.
type InboundPDU struct {
	Modem   string // session name
	IMEI    string
	IMSI    string
	Storage string // "" for a direct +CMT/+CDS
	Index   int    // -1 for a direct +CMT/+CDS
	PDU     []byte // SMSC field and TPDU
	// ReceivedAt is when it was read; zero means now.
	ReceivedAt time.Time
}

// InboundDedupeKey is the hex SHA-256 of (IMSI, or IMEI when there is no IMSI, or the
// modem name when there is neither; "|"; the PDU bytes). The same PDU read twice from
// the same SIM (a crash between commit and delete) has the same key.
func InboundDedupeKey(in InboundPDU) string {
	id := in.IMSI
	if id == "" {
		id = in.IMEI
	}
	if id == "" {
		id = "modem:" + in.Modem
	}
	h := sha256.New()
	h.Write([]byte(id))
	h.Write([]byte("|"))
	h.Write(in.PDU)
	return hex.EncodeToString(h.Sum(nil))
}

// InsertInboundPDU commits a raw PDU. A PDU already stored (same dedupe key) is not
// stored again: inserted is false and err nil, so the modem may delete its copy. The
// modem's inbound handler calls this and returns its error.
func (db *DB) InsertInboundPDU(ctx context.Context, in InboundPDU) (inserted bool, err error) {
	if len(in.PDU) == 0 {
		return false, errors.New("store: insert inbound PDU: empty PDU")
	}
	at := in.ReceivedAt
	if at.IsZero() {
		at = time.Now()
	}
	idx := in.Index
	if in.Storage == "" && idx == 0 {
		idx = -1
	}
	res, err := db.w.ExecContext(ctx, `INSERT INTO inbound_pdus (dedupe_key, modem, imei, imsi, storage, idx, pdu, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
		InboundDedupeKey(in), in.Modem, in.IMEI, in.IMSI, in.Storage, idx, in.PDU, FormatTime(at))
	if err != nil {
		return false, fmt.Errorf("store: insert inbound PDU: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: insert inbound PDU: %w", err)
	}
	return n == 1, nil
}

// StoredPDU is one row of inbound_pdus.
type StoredPDU struct {
	ID         int64
	Modem      string
	IMEI       string
	IMSI       string
	Storage    string
	Index      int
	PDU        []byte
	ReceivedAt time.Time
	// GroupKey, Seq and Total are set once the router parked the PDU as a part of a
	// concatenated message.
	GroupKey  string
	Seq       int
	Total     int
	ParkedAt  time.Time
	Processed bool
	MessageID int64
	Error     string
}

// Identity is the SIM identity reassembly groups by: IMSI, else IMEI, else the modem.
func (p StoredPDU) Identity() string {
	switch {
	case p.IMSI != "":
		return p.IMSI
	case p.IMEI != "":
		return p.IMEI
	}
	return "modem:" + p.Modem
}

// PartGroupKey is the key the parts of one concatenated message share: the hex SHA-256
// of (SIM identity, sender, concatenation reference, total parts). Hashing keeps hostile
// sender text out of the index and of any log line.
func PartGroupKey(identity, sender string, ref, total int) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%d|%d", identity, sender, ref, total))
	return hex.EncodeToString(h[:])
}

const pduCols = `id, modem, imei, imsi, storage, idx, pdu, received_at, COALESCE(group_key, ''),
	COALESCE(part_seq, 0), COALESCE(part_total, 0), parked_at, processed_at IS NOT NULL, COALESCE(message_id, 0), error`

func scanPDU(row interface{ Scan(...any) error }) (StoredPDU, error) {
	var p StoredPDU
	var recv string
	var parked sql.NullString
	if err := row.Scan(&p.ID, &p.Modem, &p.IMEI, &p.IMSI, &p.Storage, &p.Index, &p.PDU, &recv, &p.GroupKey,
		&p.Seq, &p.Total, &parked, &p.Processed, &p.MessageID, &p.Error); err != nil {
		return p, err
	}
	var err error
	if p.ReceivedAt, err = ParseTime(recv); err != nil {
		return p, err
	}
	p.ParkedAt, err = scanTime(parked)
	return p, err
}

func queryPDUs(ctx context.Context, q inboxQuerier, what, query string, args ...any) ([]StoredPDU, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var out []StoredPDU
	for rows.Next() {
		p, err := scanPDU(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}

// UnroutedPDUs returns up to limit PDUs the router has not looked at yet (neither
// processed nor parked as a part), oldest first.
func (db *DB) UnroutedPDUs(ctx context.Context, limit int) ([]StoredPDU, error) {
	return queryPDUs(ctx, db.r, "list unrouted PDUs", `SELECT `+pduCols+` FROM inbound_pdus
		WHERE processed_at IS NULL AND group_key IS NULL ORDER BY id LIMIT ?`, limit)
}

// InboundPDU returns one stored PDU by id.
func (db *DB) InboundPDU(ctx context.Context, id int64) (StoredPDU, error) {
	p, err := scanPDU(db.r.QueryRowContext(ctx, `SELECT `+pduCols+` FROM inbound_pdus WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("store: inbound PDU %d: %w", id, err)
	}
	return p, nil
}

// PDUsOfMessage returns the PDUs a message was made from, by part number.
func (db *DB) PDUsOfMessage(ctx context.Context, messageID int64) ([]StoredPDU, error) {
	return queryPDUs(ctx, db.r, "PDUs of message", `SELECT `+pduCols+` FROM inbound_pdus
		WHERE message_id = ? ORDER BY COALESCE(part_seq, 0), id`, messageID)
}

// CountUnprocessedPDUs returns how many PDUs wait: not yet routed, and parked parts.
func (db *DB) CountUnprocessedPDUs(ctx context.Context) (unrouted, parked int, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(group_key IS NULL), 0), COALESCE(SUM(group_key IS NOT NULL), 0)
		FROM inbound_pdus WHERE processed_at IS NULL`).Scan(&unrouted, &parked)
	if err != nil {
		return 0, 0, fmt.Errorf("store: count unprocessed PDUs: %w", err)
	}
	return unrouted, parked, nil
}

// ParkPart records that PDU id is part seq of total of the concatenated message with
// groupKey; it stays unprocessed until its set is delivered.
func (t *Tx) ParkPart(id int64, groupKey string, seq, total int, now time.Time) error {
	ok, err := t.cas("park part", `UPDATE inbound_pdus SET group_key = ?, part_seq = ?, part_total = ?, parked_at = ?
		WHERE id = ? AND processed_at IS NULL`, groupKey, seq, total, FormatTime(now), id)
	if err == nil && !ok {
		return fmt.Errorf("store: park part %d: %w", id, ErrStale)
	}
	return err
}

// ParkedParts returns the unprocessed parts of groupKey, by part number, then age.
func (t *Tx) ParkedParts(groupKey string) ([]StoredPDU, error) {
	return queryPDUs(t.ctx, t.tx, "parked parts", `SELECT `+pduCols+` FROM inbound_pdus
		WHERE group_key = ? AND processed_at IS NULL ORDER BY part_seq, id`, groupKey)
}

// IncompleteGroupMessage finds the message delivered incomplete (status 'incomplete')
// for groupKey whose first part was parked at or after since, and returns it with the
// parts it was made from. ErrNotFound when there is none.
func (t *Tx) IncompleteGroupMessage(groupKey string, since time.Time) (int64, []StoredPDU, error) {
	var msgID int64
	err := t.tx.QueryRowContext(t.ctx, `SELECT p.message_id FROM inbound_pdus p JOIN messages m ON m.id = p.message_id
		WHERE p.group_key = ? AND p.processed_at IS NOT NULL AND m.status = 'incomplete' AND p.parked_at >= ?
		ORDER BY p.id DESC LIMIT 1`, groupKey, FormatTime(since)).Scan(&msgID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, ErrNotFound
	}
	if err != nil {
		return 0, nil, fmt.Errorf("store: incomplete message of group: %w", err)
	}
	parts, err := queryPDUs(t.ctx, t.tx, "parts of incomplete message", `SELECT `+pduCols+` FROM inbound_pdus
		WHERE message_id = ? ORDER BY part_seq, id`, msgID)
	return msgID, parts, err
}

// DueGroups returns the group keys with parked parts, the oldest of which was parked
// at or before cutoff: sets the reassembly timeout gives up waiting for.
func (db *DB) DueGroups(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT group_key FROM inbound_pdus
		WHERE processed_at IS NULL AND group_key IS NOT NULL
		GROUP BY group_key HAVING MIN(parked_at) <= ? ORDER BY MIN(id) LIMIT ?`, FormatTime(cutoff), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due part groups: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("store: due part groups: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: due part groups: %w", err)
	}
	return out, nil
}

// MarkPDUProcessed records that the router is done with PDU id: it became (part of)
// messageID (0 for none, e.g. a status report), or could not be used, said by errText.
func (t *Tx) MarkPDUProcessed(id, messageID int64, errText string, now time.Time) error {
	if len(errText) > 500 {
		errText = errText[:500]
	}
	ok, err := t.cas("mark PDU processed", `UPDATE inbound_pdus SET processed_at = ?, message_id = ?, error = ?
		WHERE id = ? AND processed_at IS NULL`, FormatTime(now), nullID(messageID), errText, id)
	if err == nil && !ok {
		return fmt.Errorf("store: mark PDU %d processed: %w", id, ErrStale)
	}
	return err
}

// LinkPDU attaches an already processed PDU (a late part) to messageID.
func (t *Tx) LinkPDU(id, messageID int64, now time.Time) error {
	_, err := t.exec(`UPDATE inbound_pdus SET message_id = ?, processed_at = COALESCE(processed_at, ?) WHERE id = ?`,
		messageID, FormatTime(now), id)
	if err != nil {
		return fmt.Errorf("store: link PDU %d: %w", id, err)
	}
	return nil
}

// InboundMessage is a message reassembled from PDUs, ready to insert.
type InboundMessage struct {
	Peer     string // normalized sender: E.164 or the alphanumeric id
	Line     string
	Modem    string
	ThreadID int64
	Body     string
	Encoding string // gsm7, ucs2, 8bit
	Segments int
	Status   string    // received or incomplete
	SentTime time.Time // service-centre time stamp
	At       time.Time
}

// InsertInboundMessage inserts an inbound customer message and returns its id.
func (t *Tx) InsertInboundMessage(m InboundMessage) (int64, error) {
	if m.Segments < 1 {
		m.Segments = 1
	}
	ts := FormatTime(m.At)
	return t.insertID("insert inbound message", `INSERT INTO messages (uid, direction, kind, peer, line, modem, thread_id,
		body, encoding, segments, status, sent_time, created_at, updated_at)
		VALUES (?, 'in', 'customer', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		randomUID(), m.Peer, m.Line, m.Modem, nullID(m.ThreadID), m.Body, m.Encoding, m.Segments, m.Status,
		nullTime(m.SentTime), ts, ts)
}

// UpdateInboundBody replaces the text and status of an inbound message: a late part
// completed (or filled a gap in) a message delivered incomplete.
func (t *Tx) UpdateInboundBody(id int64, body, status string, segments int, now time.Time) error {
	_, err := t.exec(`UPDATE messages SET body = ?, status = ?, segments = MAX(segments, ?), updated_at = ?
		WHERE id = ? AND direction = 'in'`, body, status, segments, FormatTime(now), id)
	if err != nil {
		return fmt.Errorf("store: update inbound message %d: %w", id, err)
	}
	return nil
}

// SetMessageThread places a message in a thread.
func (t *Tx) SetMessageThread(messageID, threadID int64) error {
	if _, err := t.exec(`UPDATE messages SET thread_id = ? WHERE id = ?`, threadID, messageID); err != nil {
		return fmt.Errorf("store: set message thread: %w", err)
	}
	return nil
}

// CountInboundMessages returns how many inbound messages exist, and how many of them
// are incomplete (delivered after the reassembly timeout with parts missing).
func (db *DB) CountInboundMessages(ctx context.Context) (total, incomplete int, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(status = 'incomplete'), 0) FROM messages
		WHERE direction = 'in'`).Scan(&total, &incomplete)
	if err != nil {
		return 0, 0, fmt.Errorf("store: count inbound messages: %w", err)
	}
	return total, incomplete, nil
}
