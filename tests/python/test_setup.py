"""A setup script's first calls, in its order, through the official authentik client unmodified: readiness on
/root/config/, then the flows it looks up by slug and designation, the key pair it looks up by name, the scope
mappings it looks up by managed id and a custom one it adds, a group and a user with a password in that group,
then a provider and an application that use them.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authentik_client import (
    ApiClient,
    Configuration,
    CoreApi,
    CryptoApi,
    FlowsApi,
    PropertymappingsApi,
    ProvidersApi,
    RootApi,
)
from authentik_client.exceptions import BadRequestException, ForbiddenException, NotFoundException
from authentik_client.models import (
    AlgEnum,
    ApplicationRequest,
    CertificateGenerationRequest,
    GroupRequest,
    CertificateKeyPair,
    CertificateKeyPairRequest,
    Config,
    Flow,
    FlowDesignationEnum,
    GrantTypeEnum,
    MatchingModeEnum,
    OAuth2ProviderRequest,
    RedirectURIRequest,
    ScopeMappingRequest,
    TokenRequest,
    UserPasswordSetRequest,
    UserRequest,
)

from joserfc import jwt
from joserfc.jwk import KeySet

from conftest import ALICE_KEY, BOB_KEY


def api(tokenstack, key=None):
    return ApiClient(Configuration(host=tokenstack.authentik_url, access_token=key))


def test_readiness_is_root_config_anonymous_or_with_a_key(tokenstack):
    config = RootApi(api(tokenstack)).root_config_retrieve()
    assert isinstance(config, Config)
    assert config.error_reporting.enabled is False and config.cache_timeout_flows == 300
    assert RootApi(api(tokenstack, tokenstack.authentik_key)).root_config_retrieve() == config
    with pytest.raises(ForbiddenException):
        RootApi(api(tokenstack, "no-such-key")).root_config_retrieve()


def test_flows_are_looked_up_by_slug_and_designation(tokenstack):
    flows = FlowsApi(api(tokenstack, tokenstack.authentik_key))
    found = {}
    for slug in ["default-provider-authorization-implicit-consent", "default-provider-invalidation-flow",
                 "default-authentication-flow"]:
        listed = flows.flows_instances_list(slug=slug).results
        assert [f.slug for f in listed] == [slug]
        found[slug] = flows.flows_instances_retrieve(slug)
        assert isinstance(found[slug], Flow) and found[slug].pk == listed[0].pk
    assert found["default-authentication-flow"].designation == FlowDesignationEnum.AUTHENTICATION
    authorization = flows.flows_instances_list(designation=FlowDesignationEnum.AUTHORIZATION).results
    assert {f.slug for f in authorization} == {
        "default-provider-authorization-explicit-consent",
        "default-provider-authorization-implicit-consent",
    }
    with pytest.raises(NotFoundException):
        flows.flows_instances_retrieve("no-such-flow")
    with pytest.raises(ForbiddenException):
        FlowsApi(api(tokenstack, BOB_KEY)).flows_instances_list()


def test_the_key_pair_is_looked_up_by_name_generated_and_copied(tokenstack):
    crypto = CryptoApi(api(tokenstack, tokenstack.authentik_key))
    [pair] = crypto.crypto_certificatekeypairs_list(name="authentik Self-signed Certificate").results
    assert isinstance(pair, CertificateKeyPair) and pair.private_key_available
    assert pair.pk in {p.pk for p in crypto.crypto_certificatekeypairs_list(has_key=True).results}

    generated = crypto.crypto_certificatekeypairs_generate_create(
        CertificateGenerationRequest(common_name="setup.example.com", validity_days=30, alg=AlgEnum.ECDSA)
    )
    certificate = crypto.crypto_certificatekeypairs_view_certificate_retrieve(generated.pk).data
    key = crypto.crypto_certificatekeypairs_view_private_key_retrieve(generated.pk).data
    copied = crypto.crypto_certificatekeypairs_create(
        CertificateKeyPairRequest(name="setup copy", certificate_data=certificate, key_data=key)
    )
    assert copied.fingerprint_sha256 == generated.fingerprint_sha256
    with pytest.raises(BadRequestException) as bad:
        crypto.crypto_certificatekeypairs_create(CertificateKeyPairRequest(name="x", certificate_data="nope"))
    assert "Unable to load certificate." in bad.value.body
    crypto.crypto_certificatekeypairs_destroy(copied.pk)
    with pytest.raises(NotFoundException):
        crypto.crypto_certificatekeypairs_retrieve(copied.pk)


MANAGED = [f"goauthentik.io/providers/oauth2/scope-{scope}" for scope in ("openid", "email", "profile")]


def test_a_setup_script_builds_a_provider_from_looked_up_flows_key_and_mappings(tokenstack):
    client = api(tokenstack, tokenstack.authentik_key)
    flows, crypto, mappings = FlowsApi(client), CryptoApi(client), PropertymappingsApi(client)
    authorization = flows.flows_instances_list(slug="default-provider-authorization-implicit-consent").results[0]
    invalidation = flows.flows_instances_list(slug="default-provider-invalidation-flow").results[0]
    [key] = crypto.crypto_certificatekeypairs_list(name="authentik Self-signed Certificate").results
    managed = [mappings.propertymappings_provider_scope_list(managed=[m]).results[0].pk for m in MANAGED]
    groups = mappings.propertymappings_provider_scope_create(
        ScopeMappingRequest(
            name="setup groups",
            scope_name="groups",
            expression="return {'groups': [g.name for g in request.user.ak_groups.all()]}",
        )
    )
    assert {m.pk for m in mappings.propertymappings_all_list().results} >= {*managed, groups.pk}

    # A group, and a user with a password in it.
    core = CoreApi(client)
    team = core.core_groups_create(GroupRequest(name="setup team", attributes={"tier": "gold"}))
    carol = core.core_users_create(UserRequest(username="carol", name="Carol", email="carol@example.com",
                                               groups=[team.pk]))
    core.core_users_set_password_create(carol.pk, UserPasswordSetRequest(password="carol-password"))
    assert [m.username for m in core.core_groups_retrieve(team.pk).users_obj] == ["carol"]
    assert core.core_groups_list(members_by_username=["carol"]).results[0].name == "setup team"
    with pytest.raises(BadRequestException) as taken:
        core.core_groups_create(GroupRequest(name="setup team"))
    assert json.loads(taken.value.body) == {"name": ["Group with this name already exists."]}
    with pytest.raises(NotFoundException):
        core.core_users_set_password_create(99999, UserPasswordSetRequest(password="x"))

    providers = ProvidersApi(client)
    provider = providers.providers_oauth2_create(
        OAuth2ProviderRequest(
            name="setup",
            authorization_flow=authorization.pk,
            invalidation_flow=invalidation.pk,
            signing_key=key.pk,
            property_mappings=[*managed, groups.pk],
            grant_types=[GrantTypeEnum.AUTHORIZATION_CODE],
            redirect_uris=[RedirectURIRequest(matching_mode=MatchingModeEnum.STRICT, url="https://app.example.com/cb")],
        )
    )
    assert provider.signing_key == key.pk and set(provider.property_mappings) == {*managed, groups.pk}
    core.core_applications_create(ApplicationRequest(name="Setup", slug="setup", provider=provider.pk))

    # A login as alice (a member of "authentik Admins" in the example seed): the id token carries the claims of
    # the mappings and verifies against the JWKS of the key pair the provider names.
    base = f"{tokenstack.base_url}/application/o"
    metadata = requests.get(f"{base}/setup/.well-known/openid-configuration", timeout=10).json()
    assert "groups" in metadata["scopes_supported"]

    def login(key: str) -> dict:
        """An authorization-code login with `key` standing in for the user's session: the token response."""
        authorize = requests.get(
            metadata["authorization_endpoint"],
            params={"client_id": provider.client_id, "response_type": "code", "scope": "openid email profile groups",
                    "redirect_uri": "https://app.example.com/cb"},
            headers={"Authorization": f"Bearer {key}"},
            allow_redirects=False,
            timeout=10,
        )
        assert authorize.status_code == 302, authorize.text
        [code] = parse_qs(urlsplit(authorize.headers["location"]).query)["code"]
        return requests.post(
            metadata["token_endpoint"],
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": "https://app.example.com/cb",
                  "client_id": provider.client_id, "client_secret": provider.client_secret},
            timeout=10,
        ).json()

    tokens = login(ALICE_KEY)
    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    claims = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"]).claims
    assert (claims["email"], claims["preferred_username"]) == ("alice@example.com", "alice")
    assert claims["groups"] == ["authentik Admins"] and claims["aud"] == provider.client_id

    # Carol's login (a token of hers stands in for her session until the login pages): her group is in her claims.
    core.core_tokens_create(TokenRequest(identifier="carol-session", user=carol.pk))
    carol_key = core.core_tokens_view_key_retrieve("carol-session").key
    tokens = login(carol_key)
    claims = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"]).claims
    assert (claims["preferred_username"], claims["groups"]) == ("carol", ["setup team"])
    with pytest.raises(BadRequestException) as bad:
        providers.providers_oauth2_create(
            OAuth2ProviderRequest(
                name="broken",
                authorization_flow=authorization.pk,
                invalidation_flow=invalidation.pk,
                property_mappings=["11112222-3333-4444-5555-666677778888"],
                redirect_uris=[],
            )
        )
    assert "object does not exist" in bad.value.body
