"""The AsyncAPI document stays in step with the protocol module."""

from __future__ import annotations

from pathlib import Path

import yaml

from fintrack.hub import protocol

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "hub-asyncapi.yaml"


def test_the_asyncapi_document_names_every_client_message_the_protocol_decodes() -> None:
    document = yaml.safe_load(DOCUMENT.read_text())
    assert document["asyncapi"].startswith("3.")
    messages = document["components"]["messages"]
    sent = {ref["$ref"].rsplit("/", 1)[-1] for ref in document["operations"]["sendToHub"]["messages"]}
    assert sent == set(protocol.TYPES)
    for name in (*protocol.TYPES, "pub", "gap", "error", "welcome", "subscribed", "pong"):
        assert messages[name]["payload"]["properties"]["type"]["const"] == name
