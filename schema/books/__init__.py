"""The books (issue 15): chart of accounts, posting rules and the journal projected from facts.

Node and hub both derive a campus's journal here, from the same replicated facts, so the two
compute identical books and nothing is ever written twice.
"""

from campus.schema.books import entries as _entries  # noqa: E402,F401  (registers manual entries, expenses, closes)
from campus.schema.books import opening as _opening  # noqa: E402,F401  (registers migrated opening balances)
from campus.schema.books import payroll as _payroll  # noqa: E402,F401  (registers approved payroll runs as facts)
from campus.schema.books import refunds as _refunds  # noqa: E402,F401  (registers paid refunds as facts)
