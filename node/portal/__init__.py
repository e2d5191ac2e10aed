"""The family portal (家长端) at /portal/: families sign in with a one-time code sent to the phone on
record or with a student number and their own password, and see only their own students."""
