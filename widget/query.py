"""Query parameters: each is read once, and given twice it is refused, not one of them
picked (which of two `since`, or of `debug=1&debug=0`, did the caller mean?)."""

from starlette.datastructures import QueryParams

from widget.errors import ApiError


def single(params: QueryParams, name: str) -> str | None:
    """The value of ``name``, None if absent; a 422 if it is given more than once."""
    values = params.getlist(name)
    if len(values) > 1:
        raise ApiError(422, f"`{name}` is given more than once", field=name)
    return values[0] if values else None
