"""The shared data model: every table, its replication policy, value types and migrations."""
