"""The campus's books: journal, statements, closes, expenses, invoices, supervised funds and
the daily cash count, over the projection in ``campus.schema.books``."""
