"""Sealing a trial's seed and allocation (AES-256-GCM, key from HKDF-SHA256 of the
deployment's secret, the trial id bound as associated data): a database dump alone does not
reveal the order, and a sealed allocation cannot be moved to another trial."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import ConfigurationError, PermissionDenied

SCHEME = "aes256-gcm-hkdf-v1"
_NONCE = 12


def _key(secret: bytes) -> bytes:
    if len(secret) < 16:
        raise ConfigurationError(
            "LDN_SECRET_KEY must be at least 16 bytes to seal n-of-1 allocations"
        )
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"ldn-outcomes nof1 seal v1"
    ).derive(secret)


def seal(secret: bytes, trial_id: str, payload: dict[str, Any]) -> str:
    """AES-256-GCM; the trial id is bound as associated data, so a seal cannot be moved."""
    plain = json.dumps(payload, sort_keys=True).encode()
    nonce = secrets.token_bytes(_NONCE)
    cipher = AESGCM(_key(secret)).encrypt(nonce, plain, SCHEME.encode() + trial_id.encode())
    return base64.urlsafe_b64encode(nonce + cipher).decode()


def unseal(secret: bytes, trial_id: str, token: str) -> dict[str, Any]:
    raw = base64.urlsafe_b64decode(token.encode())
    nonce, cipher = raw[:_NONCE], raw[_NONCE:]
    try:
        plain = AESGCM(_key(secret)).decrypt(nonce, cipher, SCHEME.encode() + trial_id.encode())
    except InvalidTag:
        raise PermissionDenied(
            f"the sealed allocation of trial {trial_id} cannot be opened with this "
            "deployment's secret key (was LDN_SECRET_KEY changed?); use the pharmacy sheet"
        ) from None
    return json.loads(plain)
