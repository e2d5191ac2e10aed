"""The one shape of a staff list's query string: ``page`` and ``size``, ``sort`` (a column the list
offers) and ``dir`` (asc | desc), ``q`` and the list's own filters. A screen reads it with
:func:`list_view`, passes ``offset``/``limit``/``sort``/``descending`` to its read query, and hands
the view to the ``lists.html`` macros, whose links change one parameter and keep the others.

A value the list does not offer falls back to its default: a screen's address is typed and kept
in bookmarks, and a stale one should still show the list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from starlette.requests import Request

SIZES = (20, 50, 100)
DEFAULT_SIZE = 50
MAX_PAGE = 100_000


@dataclass(frozen=True)
class ListView:
    path: str
    page: int = 1
    size: int = DEFAULT_SIZE
    sort: str = ""
    descending: bool = True
    q: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)
    default_sort: str = ""
    default_descending: bool = True

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def limit(self) -> int:
        return self.size

    def params(self) -> dict[str, str]:
        """The query string's parameters that differ from the defaults."""
        given: dict[str, str] = {k: v for k, v in self.filters.items() if v}
        if self.q:
            given["q"] = self.q
        if (self.sort, self.descending) != (self.default_sort, self.default_descending):
            given["sort"] = self.sort
            given["dir"] = "desc" if self.descending else "asc"
        if self.size != DEFAULT_SIZE:
            given["size"] = str(self.size)
        if self.page != 1:
            given["page"] = str(self.page)
        return given

    def url(self, **changes: str | int | None) -> str:
        """This list's address with ``changes`` (a filter, ``q``, ``page``…; None removes one); a
        change of anything but the page goes back to the first page."""
        given = self.params()
        if any(key != "page" for key in changes):
            given.pop("page", None)
        for key, value in changes.items():
            if value is None or value == "":
                given.pop(key, None)
            else:
                given[key] = str(value)
        if given.get("page") == "1":
            given.pop("page")
        return f"{self.path}?{urlencode(given)}" if given else self.path

    def sort_url(self, column: str) -> str:
        """Sorting by ``column``: descending first for the default column, ascending for others,
        and the other way when it is already the sort."""
        if column == self.sort:
            descending = not self.descending
        else:
            descending = self.default_descending if column == self.default_sort else False
        view = replace(self, sort=column, descending=descending, page=1)
        return view.url()

    def direction(self, column: str) -> str:
        """``aria-sort`` of a column's header."""
        if column != self.sort:
            return "none"
        return "descending" if self.descending else "ascending"

    def last_page(self, total: int) -> int:
        return max(1, -(-total // self.size))

    def hidden(self, *kept_out: str) -> dict[str, str]:
        """Parameters a filter form carries as hidden fields (all but its own fields and the page)."""
        return {k: v for k, v in self.params().items() if k not in kept_out and k != "page"}


def _number(text: str | None, default: int, ceiling: int) -> int:
    if text is None or not text.isdigit():
        return default
    return min(max(1, int(text)), ceiling)


def list_view(request: Request, sorts: Iterable[str], default_sort: str, default_descending: bool = True,
              filters: Mapping[str, Iterable[str] | None] | None = None) -> ListView:
    """The list's view from the request's query string. ``sorts``: the columns it may sort by;
    ``filters``: each filter's allowed values (None: any text)."""
    params = request.query_params
    sort = params.get("sort", default_sort)
    if sort not in set(sorts):
        sort = default_sort
    direction = params.get("dir")
    descending = default_descending if direction not in ("asc", "desc") else direction == "desc"
    if "sort" not in params and direction is None:
        descending = default_descending
    size = int(params["size"]) if params.get("size", "").isdigit() and int(params["size"]) in SIZES else DEFAULT_SIZE
    chosen: dict[str, str] = {}
    for name, allowed in (filters or {}).items():
        value = params.get(name, "").strip()
        if value and (allowed is None or value in set(allowed)):
            chosen[name] = value
    return ListView(path=request.url.path, page=_number(params.get("page"), 1, MAX_PAGE), size=size, sort=sort,
                    descending=descending, q=params.get("q", "").strip()[:100], filters=chosen,
                    default_sort=default_sort, default_descending=default_descending)
