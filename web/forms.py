"""Staff forms read into the JSON API's own input models, so a field means the same and is
checked the same whichever way it arrives.

A form names fields as the model does, except amounts and hours, which people type in yuan and
hours: the model's ``amount_fen`` comes from the form's ``amount`` ("1,234.50"), ``hours_x100``
from ``hours`` ("1.5"). Empty fields are left out, so the model's defaults apply. A refusal is a
:class:`~campus.schema.errors.Invalid` naming the field, which a screen shows beside the form.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from campus.schema.errors import Invalid
from campus.schema.quantities import LessonHours, Money
from campus.web.i18n import gettext_

M = TypeVar("M", bound=BaseModel)


def _typed(field: str, text: str) -> Any:
    try:
        if field.endswith("_fen"):
            return Money.parse(text).fen
        if field.endswith("_x100"):
            return LessonHours.parse(text).x100
    except ValueError:
        message = "Not an amount in yuan, e.g. 1280.50" if field.endswith("_fen") else "Not a number of hours, e.g. 1.5"
        raise Invalid(field, gettext_(message)) from None
    return text


def form_model(form: FormData, model: type[M], **given: Any) -> M:
    """``model`` from the form's fields (and ``given`` values, e.g. from the path)."""
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in given:
            data[name] = given[name]
            continue
        key = name.removesuffix("_fen").removesuffix("_x100")
        origin = getattr(info.annotation, "__origin__", None)
        if origin is list:
            values = [str(v).strip() for v in form.getlist(key) if str(v).strip()]
            if values:
                data[name] = values
            continue
        text = str(form.get(key, "")).strip()
        if text:
            data[name] = _typed(name, text)
    try:
        return model.model_validate(data, strict=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "form"
        # The field is named where the message is shown; it says what is wrong, in the screen's language.
        raise Invalid(field, refusal_message(first)) from None


def refusal_message(error: Any) -> str:
    """A pydantic error as a person reads it, translated (the field is named where it is shown)."""
    kind, context = error["type"], error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and context.get("min_length") == 1):
        return gettext_("Required")
    if kind == "string_too_short":
        return gettext_("At least %(count)s characters") % {"count": context.get("min_length")}
    if kind == "string_too_long":
        return gettext_("At most %(count)s characters") % {"count": context.get("max_length")}
    if kind == "string_pattern_mismatch":
        return gettext_("Not in the expected form")
    if kind in ("enum", "literal_error"):
        return gettext_("Choose one of the options")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return gettext_("A whole number")
    if kind in ("greater_than_equal", "greater_than"):
        return gettext_("At least %(limit)s") % {"limit": context.get("ge", context.get("gt"))}
    if kind in ("less_than_equal", "less_than"):
        return gettext_("At most %(limit)s") % {"limit": context.get("le", context.get("lt"))}
    return str(error["msg"])
