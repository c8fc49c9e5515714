"""Encrypted Temporal payloads: AES-256-GCM over every payload a Xieshang client or worker
sends (workflow and activity inputs and results, updates, signals, queries, memos, start
summaries and details, failure messages).

What the Temporal server stores is ``{"encoding": "binary/encrypted", "encryption-key-id":
<id>}`` and ``nonce ‖ ciphertext``; only processes holding the key read it (services,
worker, CLI, and the Web UI through the codec endpoint, services/common/codec_server.py).

Keys (order of precedence):

1. ``XIESHANG_PAYLOAD_KEYS`` (JSON object: key id -> base64 of 32 random bytes) and
   ``XIESHANG_PAYLOAD_KEY_ID`` (the current key; default the last one listed).
2. Embedded mode: ``<data_dir>/payload-keys.json``, created once with one key
   (``xieshang payload-key rotate`` adds a new current key).

Rotation: new payloads are encrypted with the current key; every listed key still
decrypts, so histories written under an old key replay and stay readable. A key is
removed only when no retained history uses it (docs/operators.md).

Payloads without the ``binary/encrypted`` encoding (histories recorded before the codec,
tests/histories/) pass through decoding unchanged, so old histories keep replaying.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import temporalio.converter
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from .settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
KEYS_FILE = "payload-keys.json"
NONCE_BYTES = 12


class UnknownPayloadKey(ValueError):
    """A payload names a key this process does not hold."""


@dataclass(frozen=True)
class PayloadKeys:
    current: str
    keys: dict[str, bytes]

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError(f"the current payload key {self.current!r} is not among the keys")
        for key_id, key in self.keys.items():
            if len(key) != 32:
                raise ValueError(f"payload key {key_id!r} must be 32 bytes (AES-256), not {len(key)}")

    @classmethod
    def from_text(cls, keys: dict[str, str], current: str = "") -> PayloadKeys:
        decoded = {key_id: base64.b64decode(value) for key_id, value in keys.items()}
        return cls(current=current or list(decoded)[-1], keys=decoded)

    def to_json(self) -> str:
        return json.dumps(
            {"current": self.current, "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()}},
            indent=2,
        )


class EncryptionCodec(PayloadCodec):
    """AES-GCM with a fresh 96-bit nonce per payload; the key id is bound as associated data."""

    def __init__(self, keys: PayloadKeys) -> None:
        self._keys = keys
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self._keys.current
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before the codec (or not by us): leave as is
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownPayloadKey(f"payload encrypted with key {key_id!r}, which this process does not hold")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        return Payload.FromString(cipher.decrypt(nonce, sealed, key_id.encode()))


def new_key() -> bytes:
    return secrets.token_bytes(32)


def new_key_id() -> str:
    return f"k{secrets.token_hex(4)}"


def _keys_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / KEYS_FILE


def _write_exclusive(path: Path, text: str) -> bool:
    """Create ``path`` with ``text`` unless it exists; atomic, so concurrent starters
    (services, worker) agree on one file. True when this call created it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink()


def payload_keys(settings: Settings) -> PayloadKeys:
    """The configured keys, or in embedded mode those under data_dir (created once)."""
    if settings.payload_keys:
        return PayloadKeys.from_text(settings.payload_keys, settings.payload_key_id)
    path = _keys_path(settings)
    if not path.exists():
        key_id = new_key_id()
        _write_exclusive(path, PayloadKeys(current=key_id, keys={key_id: new_key()}).to_json())
    stored = json.loads(path.read_text())
    return PayloadKeys.from_text(stored["keys"], stored["current"])


def rotate_generated_keys(settings: Settings) -> str:
    """Add a new current key to the embedded-mode key file; old keys stay for decryption.
    Processes pick the new key up when they restart."""
    if settings.payload_keys:
        raise ValueError("payload keys come from XIESHANG_PAYLOAD_KEYS: rotate them there")
    keys = payload_keys(settings)
    key_id = new_key_id()
    rotated = PayloadKeys(current=key_id, keys={**keys.keys, key_id: new_key()})
    path = _keys_path(settings)
    tmp = path.with_name(f".{path.name}.rotate")
    tmp.write_text(rotated.to_json())
    tmp.chmod(0o600)
    tmp.replace(path)
    return key_id


def data_converter(settings: Settings) -> DataConverter:
    """The converter of every Temporal client and worker of the project: the default
    payload converter, payloads encrypted, failure messages and stack traces moved into
    an (encrypted) payload instead of plain text."""
    return dataclasses.replace(
        temporalio.converter.default(),
        payload_codec=EncryptionCodec(payload_keys(settings)),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def _payload_slots(message) -> list:
    """Every Payload inside a protobuf message (histories, descriptions), depth first."""
    found = []
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        entry = field.message_type
        if entry.GetOptions().map_entry:
            value_field = entry.fields_by_name["value"]
            if value_field.type == value_field.TYPE_MESSAGE:
                for item in value.values():
                    found.extend([item] if value_field.message_type.full_name == Payload.DESCRIPTOR.full_name
                                 else _payload_slots(item))
            continue
        repeated = getattr(field, "is_repeated", None)
        if repeated is None:  # protobuf before 5.x
            repeated = field.label == field.LABEL_REPEATED
        items = value if repeated else [value]
        for item in items:
            found.extend([item] if entry.full_name == Payload.DESCRIPTOR.full_name else _payload_slots(item))
    return found


async def decode_in_place(message, codec: PayloadCodec) -> None:
    """Decrypt every payload of a message (a history, say) where it stands; used to save
    histories for replay tests in the clear and by the raw-storage checks."""
    for payload in _payload_slots(message):
        [plain] = await codec.decode([payload])
        if plain is not payload:
            payload.CopyFrom(plain)
