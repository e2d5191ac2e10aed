"""The hub's books (issue 15): each campus's journal derived from the merged facts, kept as lines,
the campus × month × account roll-ups maintained by the delta of every recompute, and the group
statements (with the inter-campus eliminations) read off the roll-ups.

- :mod:`~campus.hub.books.rollups`: the lines and roll-ups, the background keeper, ``verify``;
- :mod:`~campus.hub.books.statements`: group trial balance, income statement, balance sheet;
- :mod:`~campus.hub.books.api` and :mod:`~campus.hub.books.screens`: ``/api/v1/books/...`` and ``/books``.
"""
