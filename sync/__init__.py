"""Domain-agnostic replication: clock, codec, change capture, chains, merge and protocol.

Nothing here knows what a student or a lead is; tables and their policies are handed in.
"""
