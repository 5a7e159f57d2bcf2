"""The password rule (NIST SP 800-63B §5.1.1.2, https://pages.nist.gov/800-63-3/sp800-63b.html).

NIST asks for length rather than composition rules, and for checking new passwords against
values known to be commonly used or compromised. So a password here needs at least
:data:`MIN_LENGTH` characters besides leading and trailing spaces (ten spaces is not a
password), at most :data:`MAX_LENGTH`, must not be the account's e-mail address, and must not
be one of 20,000 common passwords (``data/common-passwords.txt.gz``, see
``data/COMMON_PASSWORDS.md`` for its source and licence), compared without case.
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources

#: NIST SP 800-63B §5.1.1.2 (2017): verifiers SHALL require at least 8 characters and SHOULD
#: permit at least 64. 10 and 256 are project choices within those bounds: 10 keeps a margin
#: above NIST's floor for accounts that can read health records; 256 allows any passphrase a
#: person types while bounding the hashing work one sign-in attempt can ask for.
MIN_LENGTH = 10
MAX_LENGTH = 256
COMMON_LIST = "common-passwords.txt.gz"


@cache
def common_passwords() -> frozenset[str]:
    data = resources.files(__package__).joinpath("data", COMMON_LIST).read_bytes()
    return frozenset(line.strip() for line in gzip.decompress(data).decode().splitlines())


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """The rule ``password`` breaks, in words a person can act on, or None."""
    core = password.strip()
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if not core:
        return "must not be only spaces"
    if len(core) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters (not counting spaces at either end)"
    if email is not None and core.lower() == email.strip().lower():
        return "must not be your e-mail address"
    if core.lower() in common_passwords():
        return "is one of the 20,000 most common passwords; choose a less guessable one"
    return None
