"""Shared code for every Relais component: config, database, outbox/inbox,
event envelope, reliable consumers, metrics, logging and the service runner."""
