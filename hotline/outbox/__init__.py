"""Order events to an existing order system (工单系统): a durable outbox, delivery to webhooks, inbound changes."""
