"""Refuse control characters in every path, query and form value before a route runs.

The domain's text rule (:mod:`ldn_outcomes.domain.text`) is applied here to the whole request,
so no route (the anonymous sign-in form included) can hand a NUL byte to the database, where
PostgreSQL would refuse it with a server error. Form values may be multi-line (textareas), so
tab and line breaks pass here; the record models refuse them in single-line fields.
"""

from __future__ import annotations

from fastapi import Request

from ..domain.text import text_problem
from ..errors import Problem, ValidationFailed

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def refuse_control_characters(request: Request) -> None:
    """An app-wide dependency: 422 naming the first field that holds a refused character."""
    problems: list[Problem] = []

    def check(field: str, value: str, multiline: bool) -> None:
        rule = text_problem(value, multiline=multiline)
        if rule is not None:
            problems.append(Problem("request", field, rule))

    for name, value in request.path_params.items():
        if isinstance(value, str):
            check(name, value, multiline=False)
    for name, value in request.query_params.multi_items():
        check(name, value, multiline=False)
        check(name, name, multiline=False)
    content_type = request.headers.get("content-type", "")
    if request.method in ("POST", "PUT", "PATCH") and content_type.startswith(FORM_TYPES):
        form = await request.form()  # parsed once; the route's Form() parameters reuse it
        for name, value in form.multi_items():
            check(name, name, multiline=False)
            if isinstance(value, str):
                check(name, value, multiline=True)
    if problems:
        raise ValidationFailed(problems)
