package event

// Event types of jobs, business alerts and system alerts (package alert, and the
// three-way relay in package router). The webhook package delivers them like any
// other bus event.
const (
	// JobCreated and JobUpdated carry the job (store.DispatchJob).
	JobCreated = "job.created"
	JobUpdated = "job.updated"
	// JobEvent is a job event that rules react to (created, eta_set, started,
	// completed, or a custom name posted to the API).
	JobEvent = "job.event"
	// JobCustomerResponse is "customer SMS response received": a customer replied in
	// a job's conversation (router.JobResponse).
	JobCustomerResponse = "job.customer_response"
	// JobWorkerMessage is a field worker's SMS relayed to the customer.
	JobWorkerMessage = "job.worker_message"
	// BusinessAlertSent is a business SMS alert handed to the queue (store.AlertSend).
	BusinessAlertSent = "alert.sent"
	// SystemAlertFired and SystemAlertCleared carry a store.SystemAlert incident.
	SystemAlertFired   = "system_alert.fired"
	SystemAlertCleared = "system_alert.cleared"
)
