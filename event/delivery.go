package event

// MessageDelivery is published by the outbound queue whenever the delivery state of an
// outbound message changes (a part sent, failed, unknown, retried, or reported delivered).
// Data is the store.Message with its parts; the visibility fields carry the thread's
// latest conversation.
const MessageDelivery = "message.delivery"
