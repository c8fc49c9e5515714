"""Temporal payloads are encrypted with the current key, old keys still decrypt, payloads
written before the codec pass through; the codec endpoint decodes for operators and
clerks only, from the Web UI's origin."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from temporalio.api.common.v1 import Payload
from temporalio.worker import Replayer

from services.common.auth import Role, mint_token
from services.common.codec import (
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    PayloadKeys,
    UnknownPayloadKey,
    data_converter,
    payload_keys,
    rotate_generated_keys,
)
from services.common.codec_server import router
from services.common.problems import install_problem_handlers
from services.common.settings import Settings

SECRET = "我是王小明，电话13812345678"


def keys(*ids: str, current: str | None = None) -> PayloadKeys:
    return PayloadKeys(current=current or ids[-1], keys={i: i.encode().ljust(32, b"0") for i in ids})


async def test_payloads_are_encrypted_with_the_current_key_and_tagged_with_its_id() -> None:
    converter = data_converter(Settings(payload_keys={"k1": base64.b64encode(os.urandom(32)).decode()}))
    [encoded] = await converter.encode([SECRET])
    assert encoded.metadata["encoding"] == ENCODING
    assert encoded.metadata[KEY_ID] == b"k1"
    assert SECRET.encode() not in encoded.SerializeToString()
    assert b"13812345678" not in encoded.SerializeToString()
    assert await converter.decode([encoded], [str]) == [SECRET]


async def test_rotation_new_key_encrypts_old_keys_still_decrypt() -> None:
    old = EncryptionCodec(keys("k1"))
    [sealed_by_old] = await old.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')])
    rotated = EncryptionCodec(keys("k1", "k2"))
    [sealed_by_new] = await rotated.encode([Payload(data=b"y")])
    assert sealed_by_new.metadata[KEY_ID] == b"k2"
    assert (await rotated.decode([sealed_by_old]))[0].data == b'"x"'
    with pytest.raises(UnknownPayloadKey):
        await old.decode([sealed_by_new])


async def test_tampered_ciphertext_or_key_id_does_not_decrypt() -> None:
    from cryptography.exceptions import InvalidTag

    codec = EncryptionCodec(keys("k1", "k2"))
    [sealed] = await codec.encode([Payload(data=b"y")])
    flipped = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"k1"}, data=sealed.data)
    for bad in (flipped, relabelled):
        with pytest.raises(InvalidTag):
            await codec.decode([bad])


async def test_unencrypted_payloads_pass_through_decoding() -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"topic_id": 1}')
    assert await EncryptionCodec(keys("k1")).decode([plain]) == [plain]


async def test_saved_unencrypted_histories_replay_with_the_codec_converter(tmp_path: Path) -> None:
    from temporalio.client import WorkflowHistory

    from workflows.worker import WORKFLOWS

    histories = sorted((Path(__file__).resolve().parents[2] / "histories").glob("*.json"))
    assert histories
    converter = data_converter(Settings(data_dir=str(tmp_path)))
    for path in histories:
        data = json.loads(path.read_text())
        history = WorkflowHistory.from_json(data.get("workflowId", path.stem), path.read_text())
        await Replayer(workflows=WORKFLOWS, data_converter=converter).replay_workflow(history)


def test_embedded_keys_are_created_once_rotated_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path))
    first = payload_keys(settings)
    assert payload_keys(settings) == first
    assert (tmp_path / "payload-keys.json").stat().st_mode & 0o777 == 0o600
    new_id = rotate_generated_keys(settings)
    rotated = payload_keys(settings)
    assert rotated.current == new_id != first.current
    assert rotated.keys[first.current] == first.keys[first.current]


def test_configured_keys_must_be_aes_256() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        payload_keys(Settings(payload_keys={"short": base64.b64encode(b"x" * 16).decode()}))


# ---------------------------------------------------------------- the codec endpoint
UI = "http://127.0.0.1:8233"


@pytest.fixture
def codec_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=str(tmp_path), jwt_secret="s" * 40, temporal_ui_url=UI)


@pytest.fixture
async def endpoint(codec_settings: Settings):
    app = FastAPI()
    app.state.settings = codec_settings
    install_problem_handlers(app)
    app.include_router(router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        yield client


async def sealed_body(settings: Settings) -> dict:
    [sealed] = await data_converter(settings).encode([SECRET])
    return {"payloads": [{"metadata": {k: base64.b64encode(v).decode() for k, v in sealed.metadata.items()},
                          "data": base64.b64encode(sealed.data).decode()}]}


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.CLERK])
async def test_endpoint_decodes_for_operator_and_clerk(endpoint, codec_settings, role) -> None:
    token = mint_token(codec_settings, role=role, subject="op")
    body = await sealed_body(codec_settings)
    response = await endpoint.post("/codec/decode", json=body,
                                   headers={"Authorization": f"Bearer {token}", "Origin": UI, "X-Namespace": "default"})
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == UI
    [payload] = response.json()["payloads"]
    assert json.loads(base64.b64decode(payload["data"])) == SECRET
    # the form a browser uses: the token in the endpoint's path
    by_path = await endpoint.post(f"/codec/t/{token}/decode", json=body, headers={"Origin": UI})
    assert by_path.json() == response.json()


@pytest.mark.parametrize("role", [Role.PUBLIC, Role.DEPARTMENT, Role.CHAIR, Role.COMMITTEE, Role.SERVICE])
async def test_endpoint_refuses_other_roles(endpoint, codec_settings, role) -> None:
    token = mint_token(codec_settings, role=role, subject="x", department="县教育局")
    for url, headers in (("/codec/decode", {"Authorization": f"Bearer {token}"}), (f"/codec/t/{token}/decode", {})):
        response = await endpoint.post(url, json=await sealed_body(codec_settings), headers=headers)
        assert response.status_code == 403
        assert SECRET not in response.text


async def test_endpoint_refuses_missing_and_forged_tokens(endpoint, codec_settings) -> None:
    body = await sealed_body(codec_settings)
    assert (await endpoint.post("/codec/decode", json=body)).status_code == 401
    forged = mint_token(Settings(jwt_secret="f" * 40), role=Role.OPERATOR, subject="op")
    assert (await endpoint.post(f"/codec/t/{forged}/decode", json=body)).status_code == 401


async def test_endpoint_encode_round_trips_and_bad_bodies_are_422(endpoint, codec_settings) -> None:
    auth = {"Authorization": f"Bearer {mint_token(codec_settings, role=Role.OPERATOR, subject='op')}"}
    plain = {"payloads": [{"metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                           "data": base64.b64encode(b'"hello"').decode()}]}
    encoded = await endpoint.post("/codec/encode", json=plain, headers=auth)
    assert base64.b64decode(encoded.json()["payloads"][0]["metadata"]["encoding"]) == ENCODING
    decoded = await endpoint.post("/codec/decode", json=encoded.json(), headers=auth)
    assert decoded.json() == plain
    bad = await endpoint.post("/codec/decode", content=b"[1,2", headers={**auth, "Content-Type": "application/json"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


async def test_preflight_only_from_the_ui_origin(endpoint) -> None:
    asks = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace"}
    ok = await endpoint.options("/codec/decode", headers={"Origin": UI, **asks})
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == UI
    other = await endpoint.options("/codec/decode", headers={"Origin": "http://evil.example", **asks})
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers


async def test_decode_in_place_decrypts_every_payload_of_a_history_event() -> None:
    from temporalio.api.history.v1 import HistoryEvent

    from services.common.codec import decode_in_place

    codec = EncryptionCodec(keys("k1"))
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"secret"')
    event = HistoryEvent(event_id=1)
    started = event.workflow_execution_started_event_attributes
    started.input.payloads.extend(await codec.encode([plain, plain]))
    started.memo.fields["note"].CopyFrom((await codec.encode([plain]))[0])
    started.header.fields["h"].CopyFrom(plain)  # unencrypted: passes through
    assert b"secret" not in started.input.SerializeToString()
    await decode_in_place(event, codec)
    assert list(started.input.payloads) == [plain, plain]
    assert started.memo.fields["note"] == plain and started.header.fields["h"] == plain
