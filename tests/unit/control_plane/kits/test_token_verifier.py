"""The fast HS256 path accepts exactly what PyJWT accepts and leaves every refusal to it."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import timedelta

import jwt as pyjwt
import pytest
from flask import Flask
from flask_jwt_extended import create_access_token, decode_token

from control_plane.kits.jwt_verifier import FastJWTManager, unverified_header, verify_hs256

SECRET = "s" * 40


@pytest.fixture
def app() -> Iterator[Flask]:
    app = Flask(__name__)
    app.config.update(JWT_SECRET_KEY=SECRET, JWT_ACCESS_TOKEN_EXPIRES=timedelta(minutes=5))
    FastJWTManager(app)
    with app.app_context():
        yield app


def _segment(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _forge(header: dict[str, object], claims: dict[str, object], secret: str = SECRET) -> str:
    return pyjwt.encode(claims, secret, algorithm="HS256", headers=header)


def test_a_valid_token_decodes_to_the_same_claims_as_the_library(app: Flask) -> None:
    token = create_access_token(identity="7", additional_claims={"fam": "f1"})
    fast = verify_hs256(token, SECRET)
    assert fast is not None
    assert fast == pyjwt.decode(token, SECRET, algorithms=["HS256"])
    assert decode_token(token)["fam"] == "f1"
    assert unverified_header(token) == pyjwt.get_unverified_header(token)


def test_a_wrong_signature_is_refused_by_the_library_path(app: Flask) -> None:
    token = create_access_token(identity="7")
    forged = _forge({"alg": "HS256", "typ": "JWT"}, pyjwt.decode(token, SECRET, algorithms=["HS256"]), "x" * 40)
    assert verify_hs256(forged, SECRET) is None
    with pytest.raises(pyjwt.InvalidSignatureError):
        decode_token(forged)


def test_an_expired_token_gets_the_library_error(app: Flask) -> None:
    now = int(time.time())
    token = _forge({"typ": "JWT"}, {"sub": "7", "iat": now - 100, "nbf": now - 100, "exp": now - 10, "type": "access"})
    assert verify_hs256(token, SECRET) is None
    with pytest.raises(pyjwt.ExpiredSignatureError):
        decode_token(token)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-4] + "!!" + t[-4:],  # junk the base64 decoder would silently skip
        lambda t: t.rsplit(".", 1)[0] + ".",  # no signature
        lambda t: t + ".extra",
    ],
)
def test_malformed_tokens_are_never_accepted_by_the_fast_path(app: Flask, mangle: object) -> None:
    token = create_access_token(identity="7")
    bad = mangle(token)  # type: ignore[operator]
    assert verify_hs256(bad, SECRET) is None
    with pytest.raises(pyjwt.PyJWTError):
        decode_token(bad)


def test_unusual_headers_and_claims_go_to_the_library(app: Flask) -> None:
    padded = create_access_token(identity="7") + "="  # PyJWT tolerates padding; we defer to it
    assert verify_hs256(padded, SECRET) is None
    assert decode_token(padded)["sub"] == "7"
    now = int(time.time())
    claims = {"sub": "7", "iat": now, "nbf": now, "exp": now + 60, "jti": "j", "type": "access"}
    with_kid = _forge({"typ": "JWT", "kid": "k1"}, claims)
    assert verify_hs256(with_kid, SECRET) is None
    assert decode_token(with_kid)["sub"] == "7"  # the library still accepts it
    assert unverified_header(with_kid)["kid"] == "k1"
    unsigned = _segment({"alg": "none", "typ": "JWT"}) + "." + _segment(claims) + "."
    assert verify_hs256(unsigned + "AAAA", SECRET) is None
    for odd in ({**claims, "sub": 7}, {**claims, "exp": "later"}, {**claims, "nbf": now + 600}, {**claims, "aud": "x"}):
        assert verify_hs256(_forge({"typ": "JWT"}, odd), SECRET) is None


def test_a_non_canonical_signature_spelling_is_not_accepted(app: Flask) -> None:
    token = create_access_token(identity="7")
    head, body, signature = token.split(".")
    # 32 bytes encode to 43 characters; the last carries 2 unused bits. Setting one spells
    # the same bytes differently: PyJWT refuses that, so must we.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    twin = signature[:-1] + alphabet[last ^ 1]
    assert verify_hs256(f"{head}.{body}.{twin}", SECRET) is None
