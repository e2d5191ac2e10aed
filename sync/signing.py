"""Ed25519 keys and signatures: one key pair per node, one for the hub."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from campus.sync import codec


class BadSignature(Exception):
    pass


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def save_private_key(private_key: Ed25519PrivateKey, path: Path) -> None:
    """Write the key readable by its owner only (0600), never world-readable even briefly."""
    raw = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as key_file:
        key_file.write(raw)
    path.chmod(0o600)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def sign(private_key: Ed25519PrivateKey, statement: list[object]) -> bytes:
    """Sign the canonical encoding of ``statement`` (a list whose first item names its purpose)."""
    return private_key.sign(codec.encode(statement))


def verify(public_key: bytes, signature: bytes, statement: list[object]) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, codec.encode(statement))
    except (InvalidSignature, ValueError):
        raise BadSignature(f"signature does not verify for statement {statement[0]!r}") from None
