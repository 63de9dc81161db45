"""The notification service's store, reminders and mail."""
