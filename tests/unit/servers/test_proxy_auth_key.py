"""The caching proxy's key covers every credential a request carries (not only ``Authorization``)."""

from __future__ import annotations

from aiohttp.test_utils import make_mocked_request

from infermeter.servers.cache_proxy import _auth_hash


def _hash(headers: dict[str, str], path: str = "/v1/chat/completions") -> str | None:
    return _auth_hash(make_mocked_request("POST", path, headers=headers))


def test_an_x_api_key_upstream_never_shares_answers_across_keys():
    right = _hash({"X-Api-Key": "right-key"})
    assert right is not None
    assert _hash({}) is None  # no credential: never the cached answer of a request that had one
    assert _hash({"X-Api-Key": "wrong-key"}) != right
    assert _hash({"x-api-key": "right-key"}) == right  # header names are case-insensitive


def test_every_credential_header_and_the_query_string_count():
    base = _hash({"Authorization": "Bearer a"})
    assert _hash({"Authorization": "Bearer a", "Cookie": "session=1"}) != base
    assert _hash({"Authorization": "Bearer a", "X-Custom-Auth": "z"}) != base
    assert _hash({"Authorization": "Bearer a"}, "/v1/chat/completions?key=k") != base
    assert _hash({"Authorization": "Bearer a", "X-Trace-Id": "1"}) == base  # not a credential
