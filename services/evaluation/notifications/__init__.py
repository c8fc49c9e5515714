"""Notifications (通知): an outbox in evaluation's database and a delivery loop that
POSTs each notification to the configured webhooks, at least once, with an event id the
receiver deduplicates on. See docs/notifications.md."""
