"""Imports at a campus: the kinds of file it takes (leads, students with their balances), their
use cases, and the screens that preview a file's mapping before importing it with a progress
indicator and a report."""
