package queue

// SetQuietHours replaces the quiet hours while the queue runs (the web UI's settings
// page); workers use them from their next claim. Automated messages held by the old
// window go out as soon as the new one allows.
func (q *Queue) SetQuietHours(h QuietHours) {
	q.mu.Lock()
	q.cfg.QuietHours = h
	q.mu.Unlock()
	q.Notify()
}

// QuietHours returns the quiet hours in force.
func (q *Queue) QuietHours() QuietHours {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.cfg.QuietHours
}
