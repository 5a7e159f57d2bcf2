"""Editors' changes to the catalogue's and the claims register's text, kept in the database.

The curated catalogue ships as JSON in the package (``data/studies.json``, ``data/claims.json``)
and changes there by pull request. An editor (``Role.EDITOR``) may also reword an entry's
capsule or plain summary, or a claim's wording, in the web app: each change is an ``edited``
event in the registry's change log (field, text before and after, reason, account) plus an
audit row, written in one transaction. The latest edit of each field is laid over the shipped
data wherever pages are built (:func:`current`) as long as the text it replaced is still the
shipped text: when a release corrects that text, the older edit is no longer shown and is listed
for an editor to redo (:func:`overlay`). The full history stays in the log
(:func:`history`), and ``ldn evidence export-edits`` writes the JSON files with the edits
applied (:func:`export`) so that they can go back into the package by pull request.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ..domain.evidence import Catalogue, ChangeKind, Claim, ClaimsRegister, Study
from ..domain.text import REASON_MAX_LENGTH, reason_problem
from ..errors import NotFound, Problem, ValidationFailed
from ..store.uow import UnitOfWork
from . import mirror
from .catalogue import DATA_PACKAGE, find_claim, find_study, load_catalogue, load_claims
from .readability import measure

#: The text fields an editor may change, per kind of entry.
EDITABLE: dict[str, tuple[str, ...]] = {
    "study": ("capsule", "plain_summary"),
    "claim": ("claim", "verdict_summary"),
}
FIELD_LABELS = {
    "capsule": "Capsule",
    "plain_summary": "Plain-language summary",
    "claim": "Claim wording",
    "verdict_summary": "Verdict summary",
}
MAX_TEXT = 4000
MAX_REASON = REASON_MAX_LENGTH
#: A plain summary is written for a reading age of about 12 (Flesch-Kincaid grade 7 or below),
#: the rule the shipped summaries are tested against.
PLAIN_MAX_GRADE = 7.0


@dataclass(frozen=True)
class Edit:
    """One logged change of one field."""

    kind: str
    ident: str
    field: str
    before: str | None
    after: str
    reason: str
    by: str
    at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "entry": f"{self.kind}:{self.ident}",
            "field": self.field,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
            "by": self.by,
            "at": self.at.isoformat(),
        }


def _edits(engine: Engine, key: str | None = None) -> list[Edit]:
    """Every logged edit (of one entry when ``key`` is given), newest first."""
    found = []
    for event in mirror.changes_of_kind(engine, ChangeKind.EDITED, key):
        kind, _, ident = event.key.partition(":")
        detail = event.detail
        found.append(
            Edit(
                kind=kind,
                ident=ident,
                field=str(detail.get("field")),
                before=detail.get("before"),
                after=str(detail.get("after")),
                reason=str(detail.get("reason") or ""),
                by=str(detail.get("by") or ""),
                at=event.at,
            )
        )
    return found


@dataclass(frozen=True)
class Overlay:
    """What the editors' edits lay over the shipped data: the text of each field whose edits
    follow on from the shipped text, and the newest edit of each field that does not (a
    release changed the shipped text since it was made: an editor redoes it)."""

    texts: dict[tuple[str, str], dict[str, str]]
    stale: list[Edit]


STALE_NOTE = "the shipped text changed since this edit"


def _shipped_texts(catalogue: Catalogue, register: ClaimsRegister) -> dict[tuple[str, str], Any]:
    entries: dict[tuple[str, str], Any] = {("study", s.id): s for s in catalogue.studies}
    entries |= {("claim", c.id): c for c in register.claims}
    return entries


def overlay(edits: list[Edit], catalogue: Catalogue, register: ClaimsRegister) -> Overlay:
    """Lay ``edits`` (newest first) over the shipped text, oldest first: an edit applies only
    when its recorded "before" is the text it would replace (the shipped text, or the previous
    edit's applied text). An edit made before a release corrected the shipped text therefore
    never hides the correction; one that a release took into the shipped data as it was (its
    "after" is the shipped text) is in place, not stale."""
    entries = _shipped_texts(catalogue, register)
    shown: dict[tuple[str, str, str], str | None] = {}
    applied: dict[tuple[str, str, str], bool] = {}
    newest: dict[tuple[str, str, str], Edit] = {}
    for edit in reversed(edits):
        entry = entries.get((edit.kind, edit.ident))
        if entry is None or edit.field not in EDITABLE.get(edit.kind, ()):
            continue  # the entry left the catalogue: nothing to show or redo
        slot = (edit.kind, edit.ident, edit.field)
        if slot not in shown:
            shown[slot] = _text_of(entry, edit.field)
        newest[slot] = edit
        # an edit a release has taken into the shipped data (export-edits, then a pull
        # request) is in place, not stale
        applied[slot] = shown[slot] in (edit.before, edit.after)
        if applied[slot]:
            shown[slot] = edit.after
    texts: dict[tuple[str, str], dict[str, str]] = {}
    for (kind, ident, field), value in shown.items():
        if value is not None and value != _text_of(entries[(kind, ident)], field):
            texts.setdefault((kind, ident), {})[field] = value
    stale = [e for slot, e in newest.items() if not applied[slot]]
    stale.sort(key=lambda e: e.at, reverse=True)
    return Overlay(texts, stale)


def latest(
    engine: Engine | None,
    catalogue: Catalogue | None = None,
    register: ClaimsRegister | None = None,
) -> Overlay:
    """The editors' edits over the shipped catalogue and claims (:func:`overlay`)."""
    if engine is None:
        return Overlay({}, [])
    return overlay(
        _edits(engine),
        catalogue if catalogue is not None else load_catalogue(),
        register if register is not None else load_claims(),
    )


def stale_edits(engine: Engine | None) -> list[dict[str, Any]]:
    """The newest edit of each field that is no longer shown because the shipped text changed
    since it was made, newest first, for the review page (an editor redoes it)."""
    return [
        {**e.as_dict(), "kind": e.kind, "id": e.ident, "note": STALE_NOTE}
        for e in latest(engine).stale
    ]


def history(engine: Engine | None, kind: str, ident: str) -> list[dict[str, Any]]:
    """Every edit of one entry, newest first."""
    if engine is None:
        return []
    return [e.as_dict() for e in _edits(engine, f"{kind}:{ident}")]


def _update(model: Study | Claim, fields: dict[str, str]) -> Any:
    """A copy of the entry with the fields replaced (extra fields such as ``plain_summary``
    included: the data is validated again, so nothing slips past the types)."""
    return type(model).model_validate({**model.model_dump(), **fields})


def apply(
    catalogue: Catalogue,
    register: ClaimsRegister,
    texts: dict[tuple[str, str], dict[str, str]],
) -> tuple[Catalogue, ClaimsRegister]:
    """The catalogue and register with the edited fields laid over them."""
    if not texts:
        return catalogue, register
    studies = [
        _update(s, texts[("study", s.id)]) if ("study", s.id) in texts else s
        for s in catalogue.studies
    ]
    claims = [
        _update(c, texts[("claim", c.id)]) if ("claim", c.id) in texts else c
        for c in register.claims
    ]
    return (
        catalogue.model_copy(update={"studies": studies}),
        register.model_copy(update={"claims": claims}),
    )


def current(engine: Engine | None) -> tuple[Catalogue, ClaimsRegister]:
    """The shipped catalogue and claims with the editors' latest text (shipped alone when
    there is no database)."""
    catalogue, register = load_catalogue(), load_claims()
    return apply(catalogue, register, latest(engine, catalogue, register).texts)


def _text_of(entry: Study | Claim, field: str) -> str | None:
    if field in type(entry).model_fields:
        value = getattr(entry, field)
    else:
        value = (entry.model_extra or {}).get(field)
    return None if value is None else str(value)


def _entry(catalogue: Catalogue, register: ClaimsRegister, kind: str, ident: str) -> Study | Claim:
    if kind not in EDITABLE:
        raise ValidationFailed(
            Problem("edit", "entry", "must be a study or a claim (study:<id> or claim:<id>)")
        )
    entry: Study | Claim = (
        find_study(catalogue, ident) if kind == "study" else find_claim(register, ident)
    )
    if entry.id != ident:  # a study found by its NCT id or PMID: edits key on the id
        raise NotFound(f"no {kind} {ident!r} in the evidence hub (use its catalogue id)")
    return entry


def check_edit(field: str, text: str, reason: str, *, kind: str, before: str | None) -> None:
    """Every broken rule of one edit, at once, each naming its field."""
    problems = []
    record = f"{kind} edit"
    if field not in EDITABLE[kind]:
        problems.append(
            Problem(record, "field", "must be one of " + ", ".join(EDITABLE[kind]), value=field)
        )
    if not text.strip():
        problems.append(Problem(record, "text", "must not be empty"))
    elif len(text) > MAX_TEXT:
        problems.append(Problem(record, "text", f"must be at most {MAX_TEXT} characters"))
    elif text.strip() == (before or "").strip():
        problems.append(Problem(record, "text", "is the same as the current text"))
    elif field == "plain_summary":
        grade = measure(text).grade
        if grade > PLAIN_MAX_GRADE:
            problems.append(
                Problem(
                    record,
                    "text",
                    f"must read at Flesch-Kincaid grade {PLAIN_MAX_GRADE:g} or below "
                    f"(a reading age of about 12); this text measures {grade:.1f}: "
                    "use shorter sentences and shorter words",
                )
            )
    if (why := reason_problem(reason)) is not None:
        problems.append(Problem(record, "reason", why))
    if problems:
        raise ValidationFailed(problems)


def record_edit(
    engine: Engine,
    kind: str,
    ident: str,
    *,
    field: str,
    text: str,
    reason: str,
    by: str,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Log an editor's change of one text field (one transaction: change event + audit)."""
    catalogue, register = current(engine)
    entry = _entry(catalogue, register, kind, ident)
    before = _text_of(entry, field) if field in EDITABLE[kind] else None
    check_edit(field, text, reason, kind=kind, before=before)
    edit = Edit(
        kind=kind,
        ident=ident,
        field=field,
        before=before,
        after=text.strip(),
        reason=reason.strip(),
        by=by,
        at=at or dt.datetime.now(dt.UTC),
    )
    with UnitOfWork(engine, actor=by) as uow:
        uow.evidence.log_edit(
            at=edit.at,
            key=f"{kind}:{ident}",
            field=field,
            before=edit.before,
            after=edit.after,
            reason=edit.reason,
            actor=by,
        )
        uow.commit()
    return edit.as_dict()


def edit_page(engine: Engine | None, kind: str, ident: str) -> dict[str, Any]:
    """What the edit form shows: each editable field's current and shipped text, and the
    entry's history."""
    shipped_catalogue, shipped_register = load_catalogue(), load_claims()
    edited = latest(engine, shipped_catalogue, shipped_register)
    catalogue, register = apply(shipped_catalogue, shipped_register, edited.texts)
    entry = _entry(catalogue, register, kind, ident)
    shipped = _entry(shipped_catalogue, shipped_register, kind, ident)
    stale = {e.field: e for e in edited.stale if (e.kind, e.ident) == (kind, ident)}
    title = entry.title if isinstance(entry, Study) else entry.claim
    fields = []
    for name in EDITABLE[kind]:
        text = _text_of(entry, name)
        measured = text if name == "plain_summary" and text else None
        fields.append(
            {
                "name": name,
                "label": FIELD_LABELS[name],
                "text": text,
                "shipped": _text_of(shipped, name),
                "edited": text != _text_of(shipped, name),
                "grade": round(max(measure(measured).grade, 0.0), 1) if measured else None,
                "stale": stale[name].as_dict() | {"note": STALE_NOTE} if name in stale else None,
            }
        )
    return {
        "kind": kind,
        "id": ident,
        "title": title,
        "fields": fields,
        "history": history(engine, kind, ident),
        "max_text": MAX_TEXT,
        "max_reason": MAX_REASON,
    }


def editable_entries() -> list[dict[str, str]]:
    """Every entry an editor may reword, for the review page's list of links."""
    entries = [
        {"kind": "study", "id": s.id, "title": s.title or s.id} for s in load_catalogue().studies
    ]
    entries += [
        {"kind": "claim", "id": c.id, "title": c.claim or c.id} for c in load_claims().claims
    ]
    return entries


def _raw(name: str) -> Any:
    text = resources.files(DATA_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)


def _dump(data: Any) -> str:
    """The data files' own layout (two-space indent, UTF-8 kept), so a diff shows only edits."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def export(engine: Engine, directory: Path) -> dict[str, Any]:
    """Write ``studies.json`` and ``claims.json`` into ``directory`` with the latest edits
    applied to the shipped files, everything else byte for byte as shipped. An edit made
    before a release changed the shipped text is skipped and named in ``skipped``."""
    edited = latest(engine)
    texts = edited.texts
    changed: list[str] = []
    skipped = [f"{e.kind}:{e.ident} {e.field}: {STALE_NOTE}" for e in edited.stale]
    files = {"studies.json": ("studies", "study"), "claims.json": ("claims", "claim")}
    directory.mkdir(parents=True, exist_ok=True)
    for name, (key, kind) in files.items():
        data = _raw(name)
        for item in data.get(key, []):
            for field, text in texts.get((kind, str(item.get("id"))), {}).items():
                if item.get(field) != text:
                    item[field] = text
                    changed.append(f"{kind}:{item.get('id')} {field}")
        (directory / name).write_text(_dump(data), encoding="utf-8")
    return {
        "directory": str(directory),
        "files": sorted(files),
        "changed": changed,
        "skipped": skipped,
    }
