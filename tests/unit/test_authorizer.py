"""The Lambda authorizer: which bearer tokens are authorized, and the context handed to the routes."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import APIGatewayAuthorizerEventV2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from functions.authorizer import app
from ocore_usage.api import auth, http_api
from ocore_usage.api.auth import JwksKeys, KeyUnavailable, SsmSecret, TokenVerifier, authorize, verifier_from_settings
from ocore_usage.settings import TokenSettings
from tests.support.read_api import LambdaContext

EVENTS = Path(__file__).resolve().parents[2] / "events"
SECRET = "ocore-local-dev-secret-not-for-production"  # the local stack's HS256 secret (local/parameter_store.py)
LONG_SECRET = "a-secret-long-enough-for-hs512-" * 3
ISSUER = "https://auth.ocore.dev/"
AUDIENCE = "https://api.ocore.dev"
SECRET_PARAMETER = "/ocore/usage/dev/jwt-secret"
DROP = object()  # a claim to leave out


class StaticKey:
    """A key source that always answers one key, and counts how often it was asked."""

    def __init__(self, key: Any) -> None:
        self.key = key
        self.calls = 0

    def key_for(self, header: Any) -> Any:
        self.calls += 1
        return self.key


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "org_id": "org_a",
        "scope": "usage:read",
        "iat": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not DROP}


def hs256(payload: dict[str, Any], secret: str | bytes = SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def hs_verifier(keys: StaticKey | None = None, **options: Any) -> TokenVerifier:
    return TokenVerifier(keys or StaticKey(SECRET), algorithms=["HS256"], issuer=ISSUER, audience=AUDIENCE, **options)


def load_event(name: str = "authorizer.json") -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def event_with(authorization: str | None, *, via: str = "both") -> APIGatewayAuthorizerEventV2:
    """The recorded authorizer event, carrying ``authorization`` the way API Gateway passes it."""
    event = load_event()
    event.pop("identitySource", None)
    event["headers"].pop("authorization", None)
    if authorization is not None:
        if via in ("both", "identity"):
            event["identitySource"] = [authorization]
        if via in ("both", "headers"):
            event["headers"]["authorization"] = authorization
    return APIGatewayAuthorizerEventV2(event)


def decide(token: str, verifier: TokenVerifier | None = None) -> dict[str, Any]:
    return authorize(event_with(f"Bearer {token}"), verifier or hs_verifier()).asdict()


DENIED = {"isAuthorized": False}


def granted(scopes: str = "usage:read", org_id: str = "org_a", sub: str = "user-1") -> dict[str, Any]:
    """The answer authorizing a token, with the context the routes read."""
    return {"isAuthorized": True, "context": {"orgId": org_id, "sub": sub, "scopes": scopes}}


def hmac_signer(secret: str | bytes) -> Any:
    key = secret.encode() if isinstance(secret, str) else secret
    return lambda data: hmac.new(key, data, hashlib.sha256).digest()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict[str, Any], payload: dict[str, Any], sign: Any = None) -> str:
    """A token assembled by hand, for what PyJWT refuses to produce (alg none, alg confusion)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    signature = sign(signing_input.encode()) if sign else b""
    return f"{signing_input}.{b64url(signature)}"


# --------------------------------------------------------------------------- HS256


def test_valid_hs256_token_is_authorized_with_the_routes_context():
    # GIVEN a token of org_a with the read scope, signed with the secret
    # WHEN / THEN it is authorized and hands orgId, sub and scopes (strings only) to the routes
    assert decide(hs256(claims())) == granted()


def test_context_is_what_the_routes_read_back_as_the_caller():
    # GIVEN the context of an authorized token with the read scope and another one
    answer = decide(hs256(claims(scope="usage:read openid")))
    # AND a route built on the shared resolver, reading the caller from that context
    resolver = http_api.create_resolver()

    @resolver.get("/api/whoami")
    def whoami() -> dict[str, Any]:
        caller = http_api.caller_of(resolver).require(http_api.READ_SCOPE)
        return {"org": caller.read_org, "scopes": sorted(caller.scopes), "sub": caller.subject}

    route_event = {
        "version": "2.0",
        "routeKey": "GET /api/whoami",
        "rawPath": "/api/whoami",
        "rawQueryString": "",
        "headers": {},
        "requestContext": {
            "http": {"method": "GET", "path": "/api/whoami"},
            "requestId": "r-1",
            "routeKey": "GET /api/whoami",
            "stage": "$default",
            "authorizer": {"lambda": answer["context"]},
        },
        "isBase64Encoded": False,
    }

    # WHEN the route runs
    response = resolver.resolve(route_event, None)  # type: ignore[arg-type]

    # THEN it sees the token's org, scopes and subject
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"org": "org_a", "scopes": ["openid", "usage:read"], "sub": "user-1"}


def test_scope_constants_match_the_routes():
    # GIVEN / WHEN / THEN the authorizer's copies of the scopes are the routes' ones
    assert (auth.READ_SCOPE, auth.WRITE_SCOPE) == (http_api.READ_SCOPE, http_api.WRITE_SCOPE)


@pytest.mark.parametrize(
    ("scheme", "via"),
    [
        *((scheme, "both") for scheme in ("Bearer", "bearer", "BEARER", "bEaReR")),
        ("Bearer", "identity"),
        ("Bearer", "headers"),
    ],
)
def test_bearer_token_is_read_case_insensitively_from_the_identity_source_or_the_headers(scheme, via):
    # GIVEN a valid token under any spelling of the Bearer scheme, in both places or only in
    # identitySource or only in the Authorization header
    event = event_with(f"{scheme} {hs256(claims())}", via=via)

    # WHEN / THEN it is authorized
    assert authorize(event, hs_verifier()).authorize is True


def test_identity_source_wins_over_the_headers():
    # GIVEN the identity source carries a forged token and the headers a valid one
    event = load_event()
    event["identitySource"] = [f"Bearer {hs256(claims(), secret='x' * 32)}"]
    event["headers"]["authorization"] = f"Bearer {hs256(claims())}"

    # WHEN / THEN the identity source (what API Gateway caches on) decides: denied
    assert authorize(APIGatewayAuthorizerEventV2(event), hs_verifier()).asdict() == DENIED


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc.def.ghi", "Bearer a.b.c extra"],
    ids=["missing", "empty", "scheme-only", "scheme-space", "basic", "other-scheme", "three-parts"],
)
def test_missing_or_non_bearer_authorization_is_unauthorized(authorization):
    # GIVEN a request without a usable Bearer credential
    keys = StaticKey(SECRET)

    # WHEN / THEN it is unauthorized, and no key was looked up
    assert authorize(event_with(authorization), hs_verifier(keys)).asdict() == DENIED
    assert keys.calls == 0


def test_event_without_headers_is_unauthorized():
    # GIVEN an event with neither identitySource nor headers
    event = load_event()
    del event["identitySource"], event["headers"]

    # WHEN / THEN it is unauthorized
    assert authorize(APIGatewayAuthorizerEventV2(event), hs_verifier()).asdict() == DENIED


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"exp": int(time.time()) - 3600}, id="expired"),
        pytest.param({"nbf": int(time.time()) + 3600}, id="not-yet-valid"),
        pytest.param({"iat": int(time.time()) + 3600}, id="issued-in-the-future"),
        pytest.param({"iss": "https://evil.example/"}, id="wrong-iss"),
        pytest.param({"aud": "https://other-api.example"}, id="wrong-aud"),
        pytest.param({"aud": ["https://other-api.example", "https://another.example"]}, id="wrong-aud-list"),
        pytest.param({"exp": DROP}, id="no-exp"),
        pytest.param({"iss": DROP}, id="no-iss"),
        pytest.param({"aud": DROP}, id="no-aud"),
        pytest.param({"sub": DROP}, id="no-sub"),
        pytest.param({"sub": ""}, id="empty-sub"),
        pytest.param({"sub": 42}, id="non-string-sub"),
        pytest.param({"exp": "soon"}, id="non-numeric-exp"),
    ],
)
def test_invalid_claims_are_unauthorized(overrides):
    # GIVEN a correctly signed token whose registered claims are wrong or missing
    # WHEN / THEN it is unauthorized
    assert decide(hs256(claims(**overrides))) == DENIED


def test_audience_list_containing_ours_is_accepted():
    # GIVEN a token addressed to several audiences, ours among them
    # WHEN / THEN it is authorized
    assert decide(hs256(claims(aud=["https://other-api.example", AUDIENCE])))["isAuthorized"] is True


@pytest.mark.parametrize(
    ("overrides", "authorized"),
    [
        ({"exp": -10}, True),
        ({"exp": -60}, False),
        ({"nbf": 10}, True),
        ({"nbf": 60}, False),
        ({"iat": 10}, True),
        ({"iat": 60}, False),
    ],
    ids=["exp-10s-ago", "exp-60s-ago", "nbf-in-10s", "nbf-in-60s", "iat-in-10s", "iat-in-60s"],
)
def test_leeway_of_30_seconds_is_honoured(overrides, authorized):
    # GIVEN a token whose time claims are off by 10 s (inside the leeway) or 60 s (outside)
    now = int(time.time())
    token = hs256(claims(**{name: now + delta for name, delta in overrides.items()}))

    # WHEN / THEN only the clock skew inside the leeway is forgiven
    assert decide(token)["isAuthorized"] is authorized


def tampered_token() -> str:
    """A valid token whose payload was swapped for another org's."""
    header, _, signature = hs256(claims()).split(".")
    return f"{header}.{b64url(json.dumps(claims(org_id='org_b')).encode())}.{signature}"


@pytest.mark.parametrize(
    "make_token",
    [
        lambda: hs256(claims(), secret="another-secret-of-at-least-32-bytes!"),
        tampered_token,
        lambda: jwt.encode(claims(), None, algorithm="none"),  # type: ignore[arg-type]  # alg none takes no key
        lambda: handmade({"typ": "JWT"}, claims(), hmac_signer(SECRET)),
        lambda: handmade({"alg": "HS256", "kid": 7}, claims(), hmac_signer(SECRET)),
    ],
    ids=["bad-signature", "tampered-payload", "pyjwt-alg-none", "header-without-alg", "non-string-kid"],
)
def test_forged_or_malformed_tokens_are_unauthorized(make_token):
    # GIVEN a token signed with another secret, tampered with, PyJWT's own unsigned token, or one
    # HMAC-signed with the secret whose header names no algorithm or a numeric kid
    # WHEN / THEN it is unauthorized
    assert decide(make_token()) == DENIED


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "", "HS384", "HS512"])
def test_alg_none_or_outside_the_allow_list_is_unauthorized(alg):
    # GIVEN an unsigned token (alg none, empty signature), or one correctly signed but with an
    # algorithm not on the allow-list
    keys = StaticKey(SECRET)
    if alg.startswith("HS"):
        token = jwt.encode(claims(), LONG_SECRET, algorithm=alg)
    else:
        token = handmade({"alg": alg, "typ": "JWT"}, claims())

    # WHEN / THEN it is unauthorized before any key is looked up
    assert decide(token, hs_verifier(keys)) == DENIED
    assert keys.calls == 0


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "....",
        "eyJhbGciOiJIUzI1NiJ9.%%%.abc",
        "eyJhbGciOiJIUzI1NiJ9..",
        "W10.e30.",  # header is a JSON array
        "bnVsbA.e30.",  # header is JSON null
        "e30.W10.c2ln",  # header without alg, payload is an array
        "x" * 10_000,
        "eyJ" + "a" * 9000 + ".e30.sig",
    ],
    ids=lambda token: token[:24],
)
def test_garbage_is_unauthorized(token):
    # GIVEN something in the Bearer slot that is no valid JWT
    # WHEN / THEN it is unauthorized (and nothing raises)
    assert decide(token) == DENIED


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_short_hs256_secret_is_a_configuration_fault_not_a_denial():
    # GIVEN a verifier whose secret is too short for HS256 (RFC 7518: at least 256 bits)
    verifier = hs_verifier(StaticKey("short"))
    token = hs256(claims(), secret="short")

    # WHEN / THEN the fault surfaces (a 500, never cached) instead of denying every caller
    with pytest.raises(KeyUnavailable):
        decide(token, verifier)


# --------------------------------------------------------------------------- org and scopes


@pytest.mark.parametrize("org_id", [DROP, None], ids=["no-org", "null-org"])
def test_read_scope_without_org_is_unauthorized(org_id):
    # GIVEN a read token without org_id, or with a null one
    # WHEN / THEN it is unauthorized: reads are always of one org
    assert decide(hs256(claims(org_id=org_id))) == DENIED


@pytest.mark.parametrize(
    "org_id",
    ["", "a" * 65, "org/a", "org a", "org_ä", "org\n", 42, ["org_a"], {"id": "org_a"}, True],
    ids=["empty", "65-chars", "slash", "space", "non-ascii", "newline", "int", "list", "object", "bool"],
)
@pytest.mark.parametrize("scope", ["usage:read", "usage:write"])
def test_malformed_org_id_is_unauthorized_whatever_the_scope(org_id, scope):
    # GIVEN a token with a malformed org_id
    # WHEN / THEN it is unauthorized
    assert decide(hs256(claims(org_id=org_id, scope=scope))) == DENIED


@pytest.mark.parametrize("org_id", ["a", "A" * 64, "org_demo", "org.a-b_c.9"])
def test_well_formed_org_ids_are_accepted(org_id):
    # GIVEN a read token with an org_id at the edges of the allowed form
    # WHEN / THEN it is authorized for that org
    assert decide(hs256(claims(org_id=org_id)))["context"]["orgId"] == org_id


def test_write_scope_without_org_is_authorized_with_an_empty_org():
    # GIVEN a metering agent's service token: usage:write, no org_id
    token = hs256(claims(org_id=DROP, scope="usage:write", sub="agent-7"))

    # WHEN / THEN it is authorized with orgId "" (the routes read that as no org)
    assert decide(token) == granted("usage:write", org_id="", sub="agent-7")


@pytest.mark.parametrize(
    ("scope", "kept"),
    [
        ("usage:write", ""),
        ("usage:read usage:write", "usage:read"),
        ("usage:write openid usage:read", "openid usage:read"),
    ],
)
def test_a_token_with_an_org_is_never_granted_the_service_scope(scope, kept):
    # GIVEN a tenant's token (it carries an org_id) that also claims the service scope usage:write
    # WHEN / THEN the token still holds what else it claims, but usage:write never reaches the routes
    assert decide(hs256(claims(scope=scope))) == granted(kept)


def test_unknown_scopes_are_passed_through_deduplicated():
    # GIVEN a token with unknown scopes, a repeated scope and extra whitespace
    token = hs256(claims(scope="  openid usage:read\tadmin:all usage:read  "))

    # WHEN / THEN they reach the routes, in order, once each
    assert decide(token)["context"]["scopes"] == "openid usage:read admin:all"


def test_token_without_scope_is_authorized_with_no_scopes():
    # GIVEN a token of an org without any scope
    # WHEN / THEN it is authorized with no scopes: the routes answer 403 insufficient_scope
    assert decide(hs256(claims(scope=DROP))) == granted("")


@pytest.mark.parametrize("scope", [["usage:read"], 7, {"usage:read": True}])
def test_non_string_scope_is_unauthorized(scope):
    # GIVEN a token whose scope claim is not a space-separated string
    # WHEN / THEN it is unauthorized
    assert decide(hs256(claims(scope=scope))) == DENIED


# --------------------------------------------------------------------------- SSM (moto)


@pytest.fixture
def ssm() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("ssm", region_name="us-east-1")
        client.put_parameter(Name=SECRET_PARAMETER, Value=SECRET, Type="SecureString")
        yield client


def dev_settings(**overrides: str) -> TokenSettings:
    values = {
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
        "JWT_ALGORITHMS": "HS256",
        "JWT_SECRET_PARAMETER": SECRET_PARAMETER,
        "JWKS_URL": "",
    }
    values.update(overrides)
    return TokenSettings.from_environ(values)


@pytest.mark.parametrize("injected", [True, False], ids=["injected-client", "default-client"])
def test_dev_stage_reads_the_secret_from_ssm(ssm, injected):
    # GIVEN the dev configuration, the secret as an SSM SecureString, and a client injected or not
    # (as in Lambda: the secret is then read lazily through the default boto3 client, moto here)
    verifier = verifier_from_settings(dev_settings(), ssm_client=ssm if injected else None)

    # WHEN / THEN a token signed with that secret is authorized
    assert decide(hs256(claims()), verifier)["isAuthorized"] is True


def test_ssm_secret_is_cached_between_invocations(ssm):
    # GIVEN a verifier that has already read the secret once
    verifier = verifier_from_settings(dev_settings(), ssm_client=ssm)
    assert decide(hs256(claims()), verifier)["isAuthorized"] is True

    # WHEN the parameter changes in SSM
    ssm.put_parameter(
        Name=SECRET_PARAMETER, Value="rotated-secret-of-at-least-32-bytes", Type="SecureString", Overwrite=True
    )

    # THEN the cached secret is still used (no SSM call per request) within max_age
    assert decide(hs256(claims()), verifier)["isAuthorized"] is True


def test_missing_ssm_parameter_is_a_fault_not_a_denial(ssm):
    # GIVEN a configuration naming an SSM parameter that does not exist
    verifier = verifier_from_settings(dev_settings(JWT_SECRET_PARAMETER="/ocore/usage/dev/absent"), ssm_client=ssm)

    # WHEN / THEN the authorizer fails loudly (API Gateway answers 500 and caches nothing)
    with pytest.raises(KeyUnavailable):
        decide(hs256(claims()), verifier)


def test_ssm_is_not_called_for_tokens_of_another_algorithm(ssm):
    # GIVEN a verifier whose SSM parameter does not exist
    verifier = verifier_from_settings(dev_settings(JWT_SECRET_PARAMETER="/ocore/usage/dev/absent"), ssm_client=ssm)

    # WHEN / THEN a token of a disallowed algorithm is denied without touching SSM
    assert decide(jwt.encode(claims(), LONG_SECRET, algorithm="HS512"), verifier) == DENIED


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("overrides", "source", "algorithms"),
    [
        ({"JWT_ALGORITHMS": "RS256,ES256", "JWKS_URL": "https://auth.example/jwks"}, JwksKeys, ["ES256", "RS256"]),
        ({"JWT_ALGORITHMS": " HS256 "}, SsmSecret, ["HS256"]),
    ],
    ids=["production", "dev"],
)
def test_the_algorithms_choose_the_key_source(overrides, source, algorithms):
    # GIVEN / WHEN the production allow-list, or the dev one
    verifier = verifier_from_settings(dev_settings(**overrides))

    # THEN keys come from the JWKS, or the SSM secret, for exactly those algorithms
    assert isinstance(verifier.keys, source)
    assert verifier.algorithms == algorithms


@pytest.mark.parametrize(
    "overrides",
    [
        {"JWT_ALGORITHMS": "HS256,RS256", "JWKS_URL": "https://auth.example/jwks"},
        {"JWT_ALGORITHMS": "none"},
        {"JWT_ALGORITHMS": ""},
        {"JWT_SECRET_PARAMETER": ""},
        {"JWT_ALGORITHMS": "RS256,ES256", "JWKS_URL": ""},
        {"JWT_ISSUER": ""},
    ],
    ids=["mixed-families", "alg-none", "empty-list", "no-secret-parameter", "no-jwks-url", "no-issuer"],
)
def test_unsafe_or_incomplete_configuration_is_refused(overrides):
    # GIVEN / WHEN / THEN a configuration that could not verify safely is refused outright
    with pytest.raises(ValueError):
        verifier_from_settings(dev_settings(**overrides))


# --------------------------------------------------------------------------- RS256 / ES256 via JWKS


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(private_key: Any, kid: str, alg: str) -> dict[str, Any]:
    if isinstance(private_key, rsa.RSAPrivateKey):
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    else:
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


class JwksStub:
    """A JWKS endpoint on 127.0.0.1 that counts the fetches it serves."""

    def __init__(self, keys: list[dict[str, Any]]) -> None:
        self.document: Any = {"keys": keys}
        self.fetches = 0
        self.status = 200  # set another to make the endpoint fail
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub.fetches += 1
                body = json.dumps(stub.document).encode()
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def jwks(rsa_key, ec_key) -> Iterator[JwksStub]:
    stub = JwksStub([public_jwk(rsa_key, "rsa-1", "RS256"), public_jwk(ec_key, "ec-1", "ES256")])
    yield stub
    stub.close()


def prod_verifier(url: str) -> TokenVerifier:
    return verifier_from_settings(dev_settings(JWT_ALGORITHMS="RS256,ES256", JWKS_URL=url))


def signed(key: Any, kid: str, alg: str = "RS256") -> str:
    return jwt.encode(claims(), key, algorithm=alg, headers={"kid": kid})


@pytest.mark.parametrize(("alg", "kid"), [("RS256", "rsa-1"), ("ES256", "ec-1")])
def test_rs256_and_es256_tokens_are_verified_with_the_jwks(jwks, rsa_key, ec_key, alg, kid):
    # GIVEN the production configuration and a token signed by the issuer's key
    token = signed(rsa_key if alg == "RS256" else ec_key, kid, alg)

    # WHEN / THEN it is authorized with the token's org and scopes
    assert decide(token, prod_verifier(jwks.url)) == granted()


def test_jwks_is_fetched_once_and_cached(jwks, rsa_key, ec_key):
    # GIVEN one verifier (one per process in Lambda)
    verifier = prod_verifier(jwks.url)
    assert jwks.fetches == 0  # nothing is fetched before the first token

    # WHEN it verifies several tokens under both keys
    for _ in range(3):
        assert decide(signed(rsa_key, "rsa-1"), verifier)["isAuthorized"]
        assert decide(signed(ec_key, "ec-1", "ES256"), verifier)["isAuthorized"]

    # THEN the key set was fetched once
    assert jwks.fetches == 1


def test_hs256_token_signed_with_the_public_key_is_unauthorized(jwks, rsa_key):
    # GIVEN an algorithm-confusion token: HS256, the issuer's public key (PEM) as the HMAC secret
    pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    token = handmade({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims(), hmac_signer(pem))

    # WHEN / THEN it is unauthorized, without even fetching the JWKS
    assert decide(token, prod_verifier(jwks.url)) == DENIED
    assert jwks.fetches == 0


@pytest.mark.parametrize(
    ("signer", "alg", "headers"),
    [
        ("attacker", "RS256", {"kid": "rsa-1"}),
        ("secret", "HS256", {"kid": "rsa-1"}),
        ("issuer", "RS256", {"kid": "ec-1"}),
        ("issuer", "RS256", {"kid": "unknown"}),
        ("issuer", "RS256", {}),
        ("issuer", "RS256", {"kid": ""}),
    ],
    ids=["another-key", "dev-hs256-token", "alg-not-the-keys", "unknown-kid", "no-kid", "empty-kid"],
)
def test_a_token_the_jwks_does_not_vouch_for_is_unauthorized(jwks, rsa_key, other_rsa_key, signer, alg, headers):
    # GIVEN a token naming the issuer's kid but signed with an attacker's key, a perfectly good dev
    # token presented to production, an RS256 token naming the EC key's kid, or one naming no key
    key = {"issuer": rsa_key, "attacker": other_rsa_key, "secret": SECRET}[signer]
    token = jwt.encode(claims(), key, algorithm=alg, headers=headers)

    # WHEN / THEN it is unauthorized
    assert decide(token, prod_verifier(jwks.url)) == DENIED


def test_unknown_kids_do_not_hammer_the_jwks_endpoint(jwks, rsa_key):
    # GIVEN a verifier that has the key set already
    verifier = prod_verifier(jwks.url)
    assert decide(signed(rsa_key, "rsa-1"), verifier)["isAuthorized"]

    # WHEN many tokens with random kids arrive
    for n in range(20):
        decide(signed(rsa_key, f"random-{n}"), verifier)

    # THEN the endpoint is asked again at most once per cooldown
    assert jwks.fetches == 1


@pytest.mark.parametrize("document", [{"keys": []}, {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, ["not", "a", "set"]])
def test_jwks_without_signing_keys_is_a_fault_not_a_denial(jwks, rsa_key, document):
    # GIVEN a JWKS endpoint that answers, but with no usable signing key
    jwks.document = document

    # WHEN / THEN the authorizer fails rather than deny (and cache the denial of) a good token
    with pytest.raises(KeyUnavailable):
        decide(signed(rsa_key, "rsa-1"), prod_verifier(jwks.url))


def test_unreachable_jwks_is_a_fault_not_a_denial(rsa_key):
    # GIVEN a JWKS endpoint that is down
    stub = JwksStub([])
    stub.close()

    # WHEN / THEN the authorizer fails (500, not cached) rather than deny a possibly good token
    with pytest.raises(KeyUnavailable):
        decide(signed(rsa_key, "rsa-1"), prod_verifier(stub.url))


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def jwks_verifier(url: str) -> tuple[FakeClock, TokenVerifier]:
    """A verifier on the JWKS at ``url``, and the clock its fetches are timed by."""
    clock = FakeClock()
    return clock, TokenVerifier(
        JwksKeys(url, clock=clock), algorithms=["RS256", "ES256"], issuer=ISSUER, audience=AUDIENCE
    )


def test_unknown_kid_is_denied_when_the_refresh_fails(jwks, rsa_key):
    # GIVEN a verifier holding the issuer's key set
    clock, verifier = jwks_verifier(jwks.url)
    assert decide(signed(rsa_key, "rsa-1"), verifier)["isAuthorized"]
    # AND, past the cooldown, a JWKS endpoint that fails
    jwks.status = 503
    clock.now += auth.JWKS_COOLDOWN_SECONDS

    # WHEN a token naming a kid outside the set arrives (anyone can send one)
    answer = decide(signed(rsa_key, "rotated-in?"), verifier)

    # THEN the refresh was tried, and the token is denied: no fault, so no 500 for the unauthenticated
    assert answer == DENIED
    assert jwks.fetches == 2
    # AND tokens under the keys in hand still verify
    assert decide(signed(rsa_key, "rsa-1"), verifier)["isAuthorized"]


def test_failed_jwks_fetches_cool_down_like_successful_ones(jwks, rsa_key):
    # GIVEN a verifier holding the key set, and an endpoint that has started failing
    clock, verifier = jwks_verifier(jwks.url)
    assert decide(signed(rsa_key, "rsa-1"), verifier)["isAuthorized"]
    jwks.status = 500

    # WHEN random kids keep arriving, over three cooldowns
    for window in range(3):
        clock.now += auth.JWKS_COOLDOWN_SECONDS
        for n in range(10):
            assert decide(signed(rsa_key, f"random-{window}-{n}"), verifier) == DENIED

    # THEN the endpoint was asked once per cooldown, not once per token
    assert jwks.fetches == 1 + 3


def test_a_key_rotated_in_is_found_after_the_cooldown(jwks, rsa_key, other_rsa_key):
    # GIVEN a verifier holding the key set
    clock, verifier = jwks_verifier(jwks.url)
    assert decide(signed(rsa_key, "rsa-1"), verifier)["isAuthorized"]
    # AND the issuer rotating a new key in
    jwks.document["keys"].append(public_jwk(other_rsa_key, "rsa-2", "RS256"))
    token = signed(other_rsa_key, "rsa-2")

    # WHEN / THEN within the cooldown the new kid is unknown; after it, the set is refetched
    assert decide(token, verifier) == DENIED
    clock.now += auth.JWKS_COOLDOWN_SECONDS
    assert decide(token, verifier)["isAuthorized"]
    assert jwks.fetches == 2


def test_a_first_fetch_that_fails_is_a_fault_and_cools_down(jwks, rsa_key):
    # GIVEN a verifier that has no key set yet, and a failing endpoint
    clock, verifier = jwks_verifier(jwks.url)
    jwks.status = 502

    # WHEN / THEN tokens cannot be checked (a fault, not cached by API Gateway) ...
    for _ in range(5):
        with pytest.raises(KeyUnavailable):
            decide(signed(rsa_key, "rsa-1"), verifier)
    # ... and the endpoint is asked once per cooldown
    assert jwks.fetches == 1
    jwks.status = 200
    clock.now += auth.JWKS_COOLDOWN_SECONDS
    assert decide(signed(rsa_key, "rsa-1"), verifier)["isAuthorized"]
    assert jwks.fetches == 2


def test_an_expired_key_set_that_cannot_be_refetched(jwks, rsa_key):
    # GIVEN a verifier whose key set has expired, and a failing endpoint
    clock, verifier = jwks_verifier(jwks.url)
    assert decide(signed(rsa_key, "rsa-1"), verifier)["isAuthorized"]
    jwks.status = 503
    clock.now += auth.JWKS_LIFESPAN_SECONDS

    # WHEN / THEN a token under a key of the old set is a fault (the key may have been revoked since)
    with pytest.raises(KeyUnavailable):
        decide(signed(rsa_key, "rsa-1"), verifier)
    # AND a token naming a kid that set never had is denied, without another fetch
    assert decide(signed(rsa_key, "unknown"), verifier) == DENIED
    assert jwks.fetches == 2
    # AND once the endpoint is back, after the cooldown, the set is fresh again
    jwks.status = 200
    clock.now += auth.JWKS_COOLDOWN_SECONDS
    assert decide(signed(rsa_key, "rsa-1"), verifier)["isAuthorized"]


def test_an_unusable_jwks_url_is_refused_at_configuration():
    # GIVEN / WHEN / THEN a JWKS URL that is not http(s) is a configuration error, not a 500 per token
    with pytest.raises(ValueError):
        JwksKeys("file:///etc/passwd")


# --------------------------------------------------------------------------- the handler


@pytest.mark.parametrize(
    ("name", "expected"),
    [("authorizer.json", granted(org_id="org_demo", sub="local-dev")), ("authorizer-expired.json", DENIED)],
)
def test_handler_decides_the_recorded_events(monkeypatch, name, expected):
    # GIVEN the handler verifying with the local stack's secret
    monkeypatch.setattr(app, "verifier", hs_verifier)

    # WHEN / THEN events/authorizer.json (the demo org's reader) is authorized, the expired one is not
    assert app.lambda_handler(load_event(name), LambdaContext()) == expected


def test_handler_builds_its_verifier_from_the_template_settings(monkeypatch):
    # GIVEN the variables the template gives a dev stage
    for variable, value in asdict(dev_settings()).items():
        monkeypatch.setenv(variable.upper(), value)

    # WHEN the per-process verifier is built (bypassing the process cache)
    verifier = app.verifier.__wrapped__()

    # THEN it verifies HS256 with the SSM secret named there
    assert isinstance(verifier.keys, SsmSecret)
    assert verifier.keys.name == SECRET_PARAMETER
    assert (verifier.issuer, verifier.audience, verifier.algorithms) == (ISSUER, AUDIENCE, ["HS256"])


# --------------------------------------------------------------------------- properties

QUICK = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
segments = st.binary(max_size=64).map(b64url)


@QUICK
@given(
    authorization=st.text(max_size=300)
    | st.text(st.characters(codec=None, categories=None), max_size=50)
    | st.binary(max_size=300).map(lambda b: b.decode("latin-1"))
    | st.text(max_size=300).map(lambda text: f"Bearer {text}")
)
def test_random_authorization_values_never_raise_and_never_authorize(authorization):
    # GIVEN any header value at all
    event = event_with(authorization)

    # WHEN / THEN the authorizer answers, and the answer is no
    assert authorize(event, hs_verifier()).asdict() == DENIED


@QUICK
@given(parts=st.lists(segments, min_size=2, max_size=4))
def test_random_base64url_segments_never_raise_and_never_authorize(parts):
    # GIVEN dot-joined random base64url segments (past the shape check, into PyJWT)
    # WHEN / THEN the answer is no
    assert decide(".".join(parts)) == DENIED


@QUICK
@given(
    header=st.dictionaries(st.sampled_from(["alg", "kid", "typ", "crit", "b64", "jku"]), json_values, max_size=4),
    payload=st.dictionaries(st.text(max_size=8), json_values, max_size=6),
    signature=st.binary(max_size=80),
    alg=st.sampled_from(["HS256", "HS512", "RS256", "ES256", "none", "EdDSA"]),
)
def test_random_headers_and_signatures_never_raise_and_never_authorize(header, payload, signature, alg):
    # GIVEN a token with a random header (a plausible alg), random claims and a random signature
    token = handmade({**header, "alg": alg}, payload, lambda _: signature)

    # WHEN / THEN both the HS256 and the RS256/ES256 verifiers answer no
    assert decide(token) == DENIED
    assert decide(token, asymmetric_verifier()) == DENIED


claim_names = st.sampled_from(["iss", "aud", "sub", "exp", "nbf", "iat", "org_id", "scope"]) | st.text(max_size=8)


@QUICK
@given(payload=st.dictionaries(claim_names, json_values, max_size=10))
def test_random_claims_signed_with_the_secret_never_raise_and_never_authorize(payload):
    # GIVEN random JSON claims (texts of at most 20 chars: never our issuer or audience),
    # correctly signed by hand (PyJWT's encoder would refuse some of them)
    token = handmade({"alg": "HS256", "typ": "JWT"}, payload, hmac_signer(SECRET))

    # WHEN / THEN the answer is no
    assert decide(token) == DENIED


@QUICK
@given(name=claim_names, value=json_values)
def test_one_random_claim_over_valid_ones_never_raises(name, value):
    # GIVEN a valid token with one claim replaced by a random JSON value
    token = handmade({"alg": "HS256", "typ": "JWT"}, claims(**{name: value}), hmac_signer(SECRET))

    # WHEN the authorizer decides
    answer = decide(token)

    # THEN it answers; if it authorizes, the context is strings only and the org well formed
    if answer["isAuthorized"]:
        context = answer["context"]
        assert all(isinstance(item, str) for item in context.values())
        assert context["orgId"] == "" or auth.ORG_ID.fullmatch(context["orgId"])


@QUICK
@given(org_id=st.text(max_size=70) | st.text(alphabet="abcXYZ019._-", min_size=1, max_size=70))
def test_org_id_is_accepted_exactly_when_well_formed(org_id):
    # GIVEN a valid read token with an arbitrary org_id
    answer = decide(hs256(claims(org_id=org_id)))

    # WHEN / THEN it is authorized exactly when the org_id is 1-64 of [A-Za-z0-9._-]
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    well_formed = 1 <= len(org_id) <= 64 and set(org_id) <= allowed
    assert answer["isAuthorized"] is well_formed
    if well_formed:
        assert answer["context"]["orgId"] == org_id


@QUICK
@given(scope=st.text(max_size=80))
def test_any_scope_string_reaches_the_routes_split_on_whitespace(scope):
    # GIVEN a valid token of an org with an arbitrary scope string
    answer = decide(hs256(claims(scope=scope)))

    # WHEN / THEN it is authorized and the scopes are the string's words, once each, in order
    # (but the service scope, which a token of an org never holds)
    assert answer["isAuthorized"] is True
    assert answer["context"]["scopes"].split() == [s for s in dict.fromkeys(scope.split()) if s != "usage:write"]
    assert all(isinstance(value, str) for value in answer["context"].values())


@cache
def asymmetric_keys() -> tuple[jwt.PyJWK, jwt.PyJWK]:
    """An RSA and an EC public key, generated once for every example."""
    rsa_private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_private = ec.generate_private_key(ec.SECP256R1())
    return jwt.PyJWK(public_jwk(rsa_private, "rsa-1", "RS256")), jwt.PyJWK(public_jwk(ec_private, "ec-1", "ES256"))


def asymmetric_verifier() -> TokenVerifier:
    """RS256/ES256 verification against fixed keys, without a network round trip."""

    class ByAlg:
        def key_for(self, header: Any) -> Any:
            rsa_key, ec_key = asymmetric_keys()
            return rsa_key if header.get("alg") == "RS256" else ec_key

    return TokenVerifier(ByAlg(), algorithms=["RS256", "ES256"], issuer=ISSUER, audience=AUDIENCE)


def test_recorded_events_have_the_http_api_authorizer_v2_shape():
    # GIVEN / WHEN the recorded events are read as authorizer events
    for name in ("authorizer.json", "authorizer-expired.json"):
        raw = load_event(name)
        event = APIGatewayAuthorizerEventV2(copy.deepcopy(raw))

        # THEN they have the payload 2.0 shape API Gateway sends for this API
        assert event.version == "2.0" and event.get_type == "REQUEST"
        assert event.route_key == "GET /api/usage" and event.raw_path == "/api/usage"
        assert event.identity_source[0] == raw["headers"]["authorization"]
        assert event.identity_source[0].startswith("Bearer ")
