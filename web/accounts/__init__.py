"""Staff accounts, roles, sign-in, API tokens and the audit trail: the same at a node and the hub."""
