"""authentik's OAuth2/OpenID provider endpoints (/application/o/) driven by real clients: authlib's
`OAuth2Session` for discovery, the grants, introspection and revocation; `joserfc` to verify the signatures
against the provider's JWKS (or its client secret for HS256); the official authentik client (`Oauth2Api`) to
see and delete the issued tokens.

These tests move the server's clock through the admin API (`PUT /_tokenstack/clock` with the plugin server's admin
token); the plugin's `tokenstack` fixture sets it back to the wall clock before every test.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authentik_client import ApiClient, Configuration, CoreApi, Oauth2Api, ProvidersApi
from authentik_client.exceptions import NotFoundException
from authentik_client.models import (
    ApplicationRequest,
    GrantTypeEnum,
    MatchingModeEnum,
    OAuth2ProviderRequest,
    RedirectURIRequest,
    TokenModel,
)
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet, OctKey

from conftest import ALICE_PASSWORD, COUNTS

AUTHORIZATION_FLOW = "7f1a0001-0000-4000-8000-000000000001"
INVALIDATION_FLOW = "7f1a0002-0000-4000-8000-000000000002"
RSA_KEY = "7f1a0003-0000-4000-8000-000000000003"
EC_KEY = "7f1a0004-0000-4000-8000-000000000004"
REDIRECT_URI = "http://localhost:9999/cb"
# The provider defaults (OAuth2Provider model): access tokens last an hour, codes a minute.
ACCESS_TOKEN_SECONDS = 3600
CODE_SECONDS = 60

SIGNERS = {
    "RS256": (RSA_KEY, "client_secret_basic"),
    "ES256": (EC_KEY, "client_secret_basic"),
    # No signing key: tokens are HS256 with the client secret; client authentication by form fields here.
    "HS256": (None, "client_secret_post"),
}


@pytest.fixture
def clock(tokenstack):
    """Sets the server's clock offset in seconds; back to 0 after the test."""

    def move(offset: int) -> None:
        response = requests.put(
            f"{tokenstack.base_url}/_tokenstack/clock",
            headers={"Authorization": f"Bearer {tokenstack.admin_token}"},
            json={"offset_seconds": offset},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"offset_seconds": offset}

    yield move
    move(0)


def count(operation: str) -> None:
    COUNTS["oauth2 (authlib/joserfc)"][operation] += 1


@dataclass
class App:
    server: object
    provider_pk: int
    provider_name: str
    slug: str
    client_id: str
    client_secret: str
    alg: str
    auth_method: str

    @property
    def base(self) -> str:
        return f"{self.server.base_url}/application/o"

    @property
    def issuer(self) -> str:
        return f"{self.base}/{self.slug}/"

    def discovery(self) -> dict:
        response = requests.get(f"{self.base}/{self.slug}/.well-known/openid-configuration", timeout=10)
        assert response.status_code == 200, response.text
        count("discovery")
        return response.json()

    def session(self, **kwargs) -> OAuth2Session:
        return OAuth2Session(
            self.client_id, self.client_secret, token_endpoint_auth_method=self.auth_method, **kwargs
        )

    def verification_key(self, metadata: dict):
        """The key a relying party verifies this provider's tokens with: its JWKS, or its client secret."""
        response = requests.get(metadata["jwks_uri"], timeout=10)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
        jwks = response.json()
        count("jwks")
        if self.alg == "HS256":
            assert jwks == {}
            return OctKey.import_key(self.client_secret)
        assert [k["alg"] for k in jwks["keys"]] == [self.alg]
        assert jwks["keys"][0]["kty"] == ("RSA" if self.alg == "RS256" else "EC")
        return KeySet.import_key_set(jwks)

    def verify(self, token: str, metadata: dict, **claims) -> dict:
        """The claims of `token` after joserfc verified its signature, issuer, audience and times."""
        decoded = jwt.decode(token, self.verification_key(metadata), algorithms=[self.alg])
        assert decoded.header["alg"] == self.alg
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            **{name: {"essential": True, "value": value} for name, value in claims.items()},
        )
        registry.validate(decoded.claims)
        count(f"verify {self.alg}")
        return decoded.claims

    def authorization_url(self, session: OAuth2Session, metadata: dict, verifier: str, **params) -> tuple[str, str]:
        return session.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier, **params)

    def authorize(self, session: OAuth2Session, metadata: dict, verifier: str, **params) -> tuple[str, str]:
        """Runs the authorization as alice, logged in through the flow executor: the authorization endpoint sends
        the session to the provider's (implicit consent) authorization flow, which redirects to the client.
        Returns the redirect's Location and the state sent."""
        url, state = self.authorization_url(session, metadata, verifier, **params)
        browser = login(self.server.base_url, "alice", ALICE_PASSWORD)
        response = browser.get(url, allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text
        flow = response.headers["location"]
        assert flow.startswith("/if/flow/default-provider-authorization-implicit-consent/?"), flow
        response = browser.get(f"{self.server.base_url}{flow}", allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text
        location = response.headers["location"]
        assert location.startswith(REDIRECT_URI + "?")
        query = parse_qs(urlsplit(location).query)
        assert query["state"] == [state] and len(query["code"]) == 1, location
        count("authorize")
        return location, state


def login(base_url: str, username: str, password: str) -> requests.Session:
    """The headless login scripts run against real authentik: the flow executor's identification and password
    stages with plain `requests`, which keeps the `authentik_session` cookie and follows the executor's 302s."""
    browser = requests.Session()
    executor = f"{base_url}/api/v3/flows/executor/default-authentication-flow/"
    params = {"query": "next=/if/user/"}
    challenge = browser.get(executor, params=params, timeout=10).json()
    assert challenge["component"] == "ak-stage-identification", challenge
    identify = {"component": "ak-stage-identification", "uid_field": username}
    challenge = browser.post(executor, params=params, json=identify, timeout=10).json()
    assert challenge["component"] == "ak-stage-password", challenge
    answer = {"component": "ak-stage-password", "password": password}
    done = browser.post(executor, params=params, json=answer, timeout=10).json()
    assert done == {"component": "xak-flow-redirect", "to": "/if/user/"}, done
    assert browser.cookies.get("authentik_session")
    count("executor login")
    return browser


def new_app(tokenstack, alg: str, *, with_application: bool = True) -> App:
    """A fresh provider (signing per `alg`) and, unless told otherwise, its application, through authentik-client."""
    signing_key, auth_method = SIGNERS[alg]
    client = ApiClient(Configuration(host=tokenstack.authentik_url, access_token=tokenstack.authentik_key))
    name = f"oauth2-{alg.lower()}-{uuid.uuid4().hex[:8]}"
    client_id = f"client-{uuid.uuid4().hex}"
    client_secret = secrets.token_urlsafe(48)
    provider = ProvidersApi(client).providers_oauth2_create(
        OAuth2ProviderRequest(
            name=name,
            authorization_flow=AUTHORIZATION_FLOW,
            invalidation_flow=INVALIDATION_FLOW,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uris=[RedirectURIRequest(matching_mode=MatchingModeEnum.STRICT, url=REDIRECT_URI)],
            signing_key=signing_key,
            grant_types=list(GrantTypeEnum),  # every grant: the API's default is none
        )
    )
    assert provider.client_id == client_id and str(provider.signing_key or "") == str(signing_key or "")
    slug = f"app-{uuid.uuid4().hex[:10]}"
    if with_application:
        CoreApi(client).core_applications_create(ApplicationRequest(name=name, slug=slug, provider=provider.pk))
    return App(tokenstack, provider.pk, name, slug, client_id, client_secret, alg, auth_method)


def oauth2_api(tokenstack) -> Oauth2Api:
    return Oauth2Api(ApiClient(Configuration(host=tokenstack.authentik_url, access_token=tokenstack.authentik_key)))


def code_flow(app: App, scope: str = "openid profile email offline_access") -> tuple[OAuth2Session, dict, dict]:
    """Discovery, then authorization code with PKCE S256 through authlib: the session, its token, the metadata."""
    metadata = app.discovery()
    session = app.session(scope=scope, redirect_uri=REDIRECT_URI, code_challenge_method="S256")
    verifier = generate_token(48)
    location, state = app.authorize(session, metadata, verifier)
    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=location, state=state, code_verifier=verifier
    )
    count("authorization_code")
    return session, token, metadata


def assert_oauth_error(excinfo, error: str) -> None:
    assert excinfo.value.error == error, (excinfo.value.error, excinfo.value.description)


def introspect(session: OAuth2Session, metadata: dict, token: str) -> dict:
    response = session.introspect_token(metadata["introspection_endpoint"], token=token)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store" and response.headers["pragma"] == "no-cache"
    count("introspect")
    return response.json()


# 1. The whole relying-party journey with authlib, per signing algorithm.


@pytest.mark.parametrize("alg", sorted(SIGNERS))
def test_authlib_journey(tokenstack, alg):
    app = new_app(tokenstack, alg)

    # Discovery, as authlib's metadata model reads it.
    metadata = app.discovery()
    assert metadata["issuer"] == app.issuer
    provider_metadata = OpenIDProviderMetadata(metadata)
    if alg == "RS256":
        provider_metadata.validate()
    else:
        # OpenID Discovery says RS256 MUST be listed, and authlib's validate() insists; authentik
        # (views/provider.py) lists only the provider's own algorithm, so run every other check.
        checks = [name for name in dir(provider_metadata) if name.startswith("validate_")]
        assert len(checks) > 30
        for name in checks:
            if name != "validate_id_token_signing_alg_values_supported":
                getattr(provider_metadata, name)()
        with pytest.raises(ValueError, match="RS256"):
            provider_metadata.validate()
    base = app.base
    assert metadata["token_endpoint"] == f"{base}/token/"
    assert metadata["authorization_endpoint"] == f"{base}/authorize/"
    assert metadata["introspection_endpoint"] == f"{base}/introspect/"
    assert metadata["revocation_endpoint"] == f"{base}/revoke/"
    assert metadata["userinfo_endpoint"] == f"{base}/userinfo/"
    assert metadata["jwks_uri"] == f"{base}/{app.slug}/jwks/"
    assert metadata["id_token_signing_alg_values_supported"] == [alg]
    assert "S256" in metadata["code_challenge_methods_supported"]
    assert app.auth_method in metadata["token_endpoint_auth_methods_supported"]

    # client_credentials: the provider's own secret makes its service account the subject.
    machine = app.session(scope="openid profile email")
    cc = machine.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    count("client_credentials")
    assert cc["token_type"] == "Bearer" and cc["expires_in"] == ACCESS_TOKEN_SECONDS
    assert set(cc["scope"].split()) == {"openid", "profile", "email"}
    assert "refresh_token" not in cc
    service_account = f"ak-{app.provider_name}-client_credentials"
    access_claims = app.verify(cc["access_token"], metadata, preferred_username=service_account)
    assert access_claims["azp"] == app.client_id
    id_claims = app.verify(cc["id_token"], metadata, preferred_username=service_account)
    # The check is real: a token with another payload under the same signature does not verify.
    header, payload, signature = cc["access_token"].split(".")
    forged = f"{header}.{cc['id_token'].split('.')[1]}.{signature}"
    with pytest.raises(BadSignatureError):
        jwt.decode(forged, app.verification_key(metadata), algorithms=[alg])
    assert id_claims["sub"] == access_claims["sub"]
    userinfo = machine.get(metadata["userinfo_endpoint"], timeout=10)
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["sub"] == access_claims["sub"]
    assert userinfo.json()["preferred_username"] == service_account

    # Authorization code with PKCE S256, as alice, logged in through the flow executor.
    session = app.session(
        scope="openid profile email offline_access", redirect_uri=REDIRECT_URI, code_challenge_method="S256"
    )
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, _ = app.authorization_url(session, metadata, verifier, nonce=nonce)
    sent = parse_qs(urlsplit(url).query)
    assert sent["code_challenge"] == [create_s256_code_challenge(verifier)]
    assert sent["code_challenge_method"] == ["S256"]
    location, state = app.authorize(session, metadata, verifier, nonce=nonce)
    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=location, state=state, code_verifier=verifier
    )
    count("authorization_code")
    assert set(token["scope"].split()) == {"openid", "profile", "email", "offline_access"}
    assert token["refresh_token"]
    claims = app.verify(token["id_token"], metadata, nonce=nonce, preferred_username="alice")
    app.verify(token["access_token"], metadata, preferred_username="alice")
    assert claims["sub"] != access_claims["sub"]
    userinfo = session.get(metadata["userinfo_endpoint"], timeout=10)
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["sub"] == claims["sub"] and userinfo.json()["preferred_username"] == "alice"

    # Refresh: always rotated; the rotated-out refresh token is then refused.
    old_refresh = token["refresh_token"]
    refreshed = session.refresh_token(metadata["token_endpoint"])
    count("refresh_token")
    assert refreshed["refresh_token"] and refreshed["refresh_token"] != old_refresh
    assert refreshed["access_token"] != token["access_token"]
    assert set(refreshed["scope"].split()) == {"openid", "profile", "email", "offline_access"}
    refreshed_claims = app.verify(refreshed["id_token"], metadata, preferred_username="alice")
    assert refreshed_claims["sub"] == claims["sub"]
    with pytest.raises(OAuthError) as reuse:
        session.refresh_token(metadata["token_endpoint"], refresh_token=old_refresh)
    assert_oauth_error(reuse, "invalid_grant")

    # Introspection of the live tokens, revocation, introspection again.
    access = refreshed["access_token"]
    active = introspect(session, metadata, access)
    assert active["active"] is True
    assert active["client_id"] == app.client_id and active["iss"] == app.issuer
    assert set(active["scope"].split()) == {"openid", "profile", "email", "offline_access"}
    assert active["sub"] == claims["sub"]
    assert introspect(session, metadata, refreshed["refresh_token"])["active"] is True
    # Another client may not introspect this client's tokens.
    stranger = new_app(tokenstack, alg).session()
    assert introspect(stranger, metadata, access) == {"active": False}

    revoked = session.revoke_token(metadata["revocation_endpoint"], token=access)
    count("revoke")
    assert revoked.status_code == 200 and revoked.json() == {}
    assert revoked.headers["cache-control"] == "no-store"
    assert introspect(session, metadata, access) == {"active": False}
    userinfo = requests.get(metadata["userinfo_endpoint"], headers={"Authorization": f"Bearer {access}"}, timeout=10)
    assert userinfo.status_code == 401 and "invalid_token" in userinfo.headers["www-authenticate"]

    assert session.revoke_token(metadata["revocation_endpoint"], token=refreshed["refresh_token"]).json() == {}
    assert introspect(session, metadata, refreshed["refresh_token"]) == {"active": False}
    with pytest.raises(OAuthError) as gone:
        session.refresh_token(metadata["token_endpoint"], refresh_token=refreshed["refresh_token"])
    assert_oauth_error(gone, "invalid_grant")
    # Revoking an unknown token is no error.
    assert session.revoke_token(metadata["revocation_endpoint"], token="no-such-token").json() == {}


# 2. The management API sees the tokens the endpoints issued, and deleting one there revokes it.


def test_authentik_client_lists_and_deletes_issued_tokens(tokenstack):
    app = new_app(tokenstack, "RS256")
    api = oauth2_api(tokenstack)
    session, token, metadata = code_flow(app)
    machine = app.session(scope="openid")
    cc = machine.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")

    access_tokens = api.oauth2_access_tokens_list(provider=app.provider_pk, page_size=100).results
    assert len(access_tokens) == 2 and all(isinstance(t, TokenModel) for t in access_tokens)
    assert all(t.provider.pk == app.provider_pk and not t.is_expired and not t.revoked for t in access_tokens)
    by_user = {t.user.username: t for t in access_tokens}
    assert set(by_user) == {"alice", f"ak-{app.provider_name}-client_credentials"}
    code_token = by_user["alice"]
    assert set(code_token.scope) == {"openid", "profile", "email", "offline_access"}
    cc_token = by_user[f"ak-{app.provider_name}-client_credentials"]
    assert cc_token.scope == ["openid"]

    # The listed token is the introspected one: same jti in its id token.
    jti = introspect(session, metadata, token["access_token"])["jti"]
    id_token = code_token.id_token if isinstance(code_token.id_token, dict) else json.loads(code_token.id_token)
    assert id_token["jti"] == jti
    assert api.oauth2_access_tokens_retrieve(code_token.pk).pk == code_token.pk

    refresh_tokens = api.oauth2_refresh_tokens_list(provider=app.provider_pk, page_size=100).results
    assert len(refresh_tokens) == 1 and refresh_tokens[0].user.username == "alice"
    assert not refresh_tokens[0].revoked
    filtered = api.oauth2_access_tokens_list(provider=app.provider_pk, user=code_token.user.pk).results
    assert [t.pk for t in filtered] == [code_token.pk]

    # Deleting through the API: the token is gone and introspects inactive; the other stays active.
    api.oauth2_access_tokens_destroy(code_token.pk)
    with pytest.raises(NotFoundException):
        api.oauth2_access_tokens_retrieve(code_token.pk)
    assert introspect(session, metadata, token["access_token"]) == {"active": False}
    assert introspect(session, metadata, cc["access_token"])["active"] is True
    remaining = api.oauth2_access_tokens_list(provider=app.provider_pk).results
    assert [t.pk for t in remaining] == [cc_token.pk]

    # Revoking through the endpoint removes it from the API's list as well.
    assert machine.revoke_token(metadata["revocation_endpoint"], token=cc["access_token"]).json() == {}
    assert api.oauth2_access_tokens_list(provider=app.provider_pk).results == []
    with pytest.raises(NotFoundException):
        api.oauth2_access_tokens_retrieve(cc_token.pk)

    # A refresh after a rotation: the old refresh token is listed as revoked, the new one not.
    session.refresh_token(metadata["token_endpoint"])
    rows = api.oauth2_refresh_tokens_list(provider=app.provider_pk, page_size=100).results
    assert sorted(t.revoked for t in rows) == [False, True]
    api.oauth2_refresh_tokens_destroy(next(t.pk for t in rows if not t.revoked))
    with pytest.raises(OAuthError) as destroyed:
        session.refresh_token(metadata["token_endpoint"])
    assert_oauth_error(destroyed, "invalid_grant")


# 3. The clock moved past the access token's expiry.


def test_expired_access_token(tokenstack, clock):
    app = new_app(tokenstack, "ES256")
    session, token, metadata = code_flow(app)
    access = token["access_token"]
    assert introspect(session, metadata, access)["active"] is True
    assert session.get(metadata["userinfo_endpoint"], timeout=10).status_code == 200

    clock(ACCESS_TOKEN_SECONDS - 60)
    assert introspect(session, metadata, access)["active"] is True

    clock(ACCESS_TOKEN_SECONDS + 5)
    assert introspect(session, metadata, access) == {"active": False}
    userinfo = requests.get(metadata["userinfo_endpoint"], headers={"Authorization": f"Bearer {access}"}, timeout=10)
    assert userinfo.status_code == 401
    assert userinfo.content == b""
    assert 'error="invalid_token"' in userinfo.headers["www-authenticate"]
    api = oauth2_api(tokenstack)
    listed = api.oauth2_access_tokens_list(provider=app.provider_pk).results
    assert len(listed) == 1 and listed[0].is_expired

    # The refresh token (30 days) outlives it and mints an access token valid at the moved clock.
    refreshed = session.refresh_token(metadata["token_endpoint"])
    assert introspect(session, metadata, refreshed["access_token"])["active"] is True
    assert session.get(metadata["userinfo_endpoint"], timeout=10).status_code == 200

    clock(31 * 86400)
    with pytest.raises(OAuthError) as expired:
        session.refresh_token(metadata["token_endpoint"])
    assert_oauth_error(expired, "invalid_grant")
    assert introspect(session, metadata, refreshed["refresh_token"]) == {"active": False}


# 4. Bad input: upstream's error codes, never a 5xx.


def token_request(app: App, auth=None, **form) -> requests.Response:
    response = requests.post(f"{app.base}/token/", data=form, auth=auth, timeout=10)
    assert response.status_code < 500, response.text
    return response


def assert_token_error(response: requests.Response, error: str, status: int = 400) -> None:
    assert (response.status_code, response.json().get("error")) == (status, error), response.text
    body = response.json()
    assert set(body) == {"error", "error_description", "request_id"} and body["error_description"]
    assert response.headers["cache-control"] == "no-store" and response.headers["pragma"] == "no-cache"
    count(f"error {error}")


def fresh_code(app: App, metadata: dict, verifier: str | None = None, scope: str = "openid offline_access") -> str:
    session = app.session(scope=scope, redirect_uri=REDIRECT_URI, code_challenge_method="S256" if verifier else None)
    location, _ = app.authorize(session, metadata, verifier)
    return parse_qs(urlsplit(location).query)["code"][0]


def test_token_endpoint_errors(tokenstack, clock):
    app = new_app(tokenstack, "RS256")
    metadata = app.discovery()
    basic = (app.client_id, app.client_secret)
    wrong = (app.client_id, "not-the-secret")

    # Grant types: one the provider does not list is invalid_grant (upstream checks `provider.grant_types`
    # first); one it lists but the token endpoint does not serve (implicit) is unsupported_grant_type.
    assert_token_error(token_request(app, basic, grant_type="urn:example:unknown"), "invalid_grant")
    assert_token_error(token_request(app, basic, grant_type="implicit"), "unsupported_grant_type")
    # No grant_type at all (client authentication in the form, so the body is not empty).
    assert_token_error(token_request(app, client_id=app.client_id, client_secret=app.client_secret), "invalid_grant")
    assert_token_error(token_request(app, basic, grant_type=""), "invalid_grant")

    # Client authentication.
    assert_token_error(token_request(app, grant_type="client_credentials"), "invalid_client")
    assert_token_error(token_request(app, ("no-such-client", "x"), grant_type="client_credentials"), "invalid_client")
    assert_token_error(token_request(app, wrong, grant_type="client_credentials", scope="openid"), "invalid_grant")
    assert_token_error(token_request(app, wrong, grant_type="authorization_code", code="x",
                                     redirect_uri=REDIRECT_URI), "invalid_client")
    assert_token_error(token_request(app, wrong, grant_type="refresh_token", refresh_token="x"), "invalid_client")
    assert_token_error(
        token_request(app, grant_type="refresh_token", refresh_token="x", client_id=app.client_id,
                      client_secret="wrong"),
        "invalid_client",
    )

    # Missing fields.
    assert_token_error(token_request(app, basic, grant_type="authorization_code", redirect_uri=REDIRECT_URI),
                       "invalid_grant")
    assert_token_error(token_request(app, basic, grant_type="refresh_token"), "invalid_grant")
    assert_token_error(token_request(app, basic, grant_type="refresh_token", refresh_token="no-such-token"),
                       "invalid_grant")
    assert_token_error(token_request(app, basic, grant_type="authorization_code", code="no-such-code",
                                     redirect_uri=REDIRECT_URI), "invalid_grant")

    # Redirect URI: at the token endpoint a mismatch is invalid_client; at the authorization endpoint a 400.
    verifier = generate_token(48)
    code = fresh_code(app, metadata, verifier)
    assert_token_error(token_request(app, basic, grant_type="authorization_code", code=code,
                                     redirect_uri="http://localhost:9999/other", code_verifier=verifier),
                       "invalid_client")
    assert_token_error(token_request(app, basic, grant_type="authorization_code", code=code,
                                     code_verifier=verifier), "invalid_client")
    bad_authorize = requests.get(
        metadata["authorization_endpoint"],
        params={"client_id": app.client_id, "redirect_uri": "http://evil.example/cb", "response_type": "code",
                "scope": "openid", "state": "s"},
        allow_redirects=False,
        timeout=10,
    )
    assert bad_authorize.status_code == 400 and "location" not in bad_authorize.headers
    assert bad_authorize.json()["error"]
    unknown_client = requests.get(
        metadata["authorization_endpoint"],
        params={"client_id": "no-such-client", "redirect_uri": REDIRECT_URI, "response_type": "code"},
        allow_redirects=False,
        timeout=10,
    )
    assert (unknown_client.status_code, unknown_client.json()["error"]) == (400, "invalid_client")

    # PKCE: a wrong verifier, or none, is invalid_grant and leaves the code usable.
    assert_token_error(token_request(app, basic, grant_type="authorization_code", code=code,
                                     redirect_uri=REDIRECT_URI, code_verifier=generate_token(48)), "invalid_grant")
    assert_token_error(token_request(app, basic, grant_type="authorization_code", code=code,
                                     redirect_uri=REDIRECT_URI), "invalid_grant")
    exchanged = token_request(app, basic, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI,
                              code_verifier=verifier)
    assert exchanged.status_code == 200, exchanged.text
    assert exchanged.headers["cache-control"] == "no-store"
    # A code is used once.
    assert_token_error(token_request(app, basic, grant_type="authorization_code", code=code,
                                     redirect_uri=REDIRECT_URI, code_verifier=verifier), "invalid_grant")
    # A code without a challenge refuses a verifier (no PKCE downgrade).
    plain_code = fresh_code(app, metadata)
    assert_token_error(token_request(app, basic, grant_type="authorization_code", code=plain_code,
                                     redirect_uri=REDIRECT_URI, code_verifier=verifier), "invalid_grant")

    # A refresh token of another provider is unknown to this one.
    other = new_app(tokenstack, "RS256")
    other_token = token_request(other, (other.client_id, other.client_secret), grant_type="authorization_code",
                                code=fresh_code(other, other.discovery()), redirect_uri=REDIRECT_URI).json()
    assert other_token["refresh_token"]
    assert_token_error(token_request(app, basic, grant_type="refresh_token",
                                     refresh_token=other_token["refresh_token"]), "invalid_grant")

    # A code past its minute.
    late_verifier = generate_token(48)
    late_code = fresh_code(app, metadata, late_verifier)
    clock(CODE_SECONDS + 5)
    assert_token_error(token_request(app, basic, grant_type="authorization_code", code=late_code,
                                     redirect_uri=REDIRECT_URI, code_verifier=late_verifier), "invalid_grant")


def test_other_endpoint_errors(tokenstack):
    app = new_app(tokenstack, "HS256")
    metadata = app.discovery()
    session, token, _ = code_flow(app, scope="openid profile")

    # Revocation with bad client authentication: 401 invalid_client; the token stays.
    for auth in [(app.client_id, "wrong"), ("no-such-client", "x"), None]:
        response = requests.post(metadata["revocation_endpoint"], data={"token": token["access_token"]}, auth=auth,
                                 timeout=10)
        assert_token_error(response, "invalid_client", status=401)
    assert introspect(session, metadata, token["access_token"])["active"] is True

    # Introspection with bad client authentication, or of garbage: inactive, never an error.
    response = requests.post(metadata["introspection_endpoint"], data={"token": token["access_token"]},
                             auth=(app.client_id, "wrong"), timeout=10)
    assert (response.status_code, response.json()) == (200, {"active": False})
    assert introspect(session, metadata, "garbage") == {"active": False}
    response = session.post(metadata["introspection_endpoint"], withhold_token=True,
                            auth=(app.client_id, app.client_secret), data={"token": ""}, timeout=10)
    assert (response.status_code, response.json()) == (200, {"active": False})

    # Userinfo: no token, a bad token, the wrong scheme: 401 with WWW-Authenticate and no body.
    for headers in [{}, {"Authorization": "Bearer garbage"}, {"Authorization": f"Basic {token['access_token']}"}]:
        response = requests.get(metadata["userinfo_endpoint"], headers=headers, timeout=10)
        assert response.status_code == 401, (headers, response.status_code)
        assert response.content == b"" and 'error="invalid_token"' in response.headers["www-authenticate"]
    # A token without openid: 403 insufficient_scope.
    machine = app.session(scope="profile")
    no_openid = machine.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    response = requests.get(metadata["userinfo_endpoint"],
                            headers={"Authorization": f"Bearer {no_openid['access_token']}"}, timeout=10)
    assert response.status_code == 403 and "insufficient_scope" in response.headers["www-authenticate"]

    # Discovery and JWKS of an unknown application: 404.
    for path in ["no-such-app/.well-known/openid-configuration", "no-such-app/jwks/"]:
        response = requests.get(f"{app.base}/{path}", timeout=10)
        assert response.status_code == 404 and response.json()["error"] == "not_found"

    # A provider without application: its grants are invalid_grant, authorization access_denied.
    orphan = new_app(tokenstack, "RS256", with_application=False)
    assert_token_error(token_request(orphan, (orphan.client_id, orphan.client_secret),
                                     grant_type="client_credentials"), "invalid_grant")
    orphan_session = orphan.session(scope="openid", redirect_uri=REDIRECT_URI)
    url, _ = orphan_session.create_authorization_url(metadata["authorization_endpoint"])
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["location"]).query)["error"] == ["access_denied"]

    # The authorization endpoint's own errors go back to a valid redirect URI.
    url, state = session.create_authorization_url(metadata["authorization_endpoint"], response_type="token")
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["unsupported_response_type"] and query["state"] == [state]
    url, _ = session.create_authorization_url(metadata["authorization_endpoint"], code_challenge="x" * 43,
                                              code_challenge_method="S512")
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["location"]).query)["error"] == ["invalid_request"]
