"""Every corpus stream through a real Envoy: the filter's output equals the native core's, byte for
byte, in both dialects and with the upstream cutting its body into small chunks; passthrough returns
the upstream's own bytes."""

import pytest

from conftest import CORPUS, corpus_files, post, transcode

ROUTES = {"chat": "/v1/chat/completions", "interactions": "/v1beta/interactions"}


def corpus_names():
    return [p.name for p in sorted(CORPUS.glob("*.sse"))] if CORPUS.is_dir() else ["<absent>"]


@pytest.mark.parametrize("name", corpus_names())
def test_corpus_through_envoy(envoy, name):
    path = CORPUS / name
    if not path.is_file():
        corpus_files()  # skips with the reason
    for dialect, route in ROUTES.items():
        expected = transcode(path, dialect)
        status, headers, body = post(envoy.url, route, headers={"x-replay-file": name})
        assert status == 200
        assert headers["content-type"] == "text/event-stream; charset=utf-8"
        assert body == expected, f"{dialect}: Envoy output differs from transcode"
    # Small upstream chunks (split inside events, CRLFs and UTF-8 sequences) change nothing.
    status, _, body = post(envoy.url, ROUTES["chat"],
                           headers={"x-replay-file": name, "x-replay-split": "997"})
    assert body == transcode(path, "chat")
    status, _, body = post(envoy.url, "/v1/responses", headers={"x-replay-file": name})
    assert body == path.read_bytes(), "passthrough must be byte-identical"
