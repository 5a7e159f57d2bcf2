"""The shipped common-password list is the cited file, and the rule reads it."""

from __future__ import annotations

import hashlib
from importlib import resources

from ldn_outcomes.domain.passwords import COMMON_LIST, common_passwords, password_problem

#: SHA-256 of Django 5.1.4's django/contrib/auth/common-passwords.txt.gz (see
#: src/ldn_outcomes/domain/data/COMMON_PASSWORDS.md for the source and licence).
DJANGO_LIST_SHA256 = "32b506129a619096545bd3bbb35c98bb983b3e7616778f13e415b24abdc23be7"


def test_the_list_is_the_cited_file() -> None:
    data = resources.files("ldn_outcomes.domain").joinpath("data", COMMON_LIST).read_bytes()
    assert hashlib.sha256(data).hexdigest() == DJANGO_LIST_SHA256
    assert len(common_passwords()) > 19_000


def test_common_passwords_are_refused_whatever_their_case() -> None:
    assert password_problem("PASSWORD12") is not None
    assert password_problem("correct horse battery staple") is None
