"""Refund-risk score per student (危单预警): rules, the facts they read, alerts and reminders."""
