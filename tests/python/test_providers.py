"""OAuth2 providers and applications through the official authentik client (ProvidersApi, CoreApi): every
response deserializes into its pydantic model, and binding, unbinding and deleting behave as upstream.
"""

from __future__ import annotations

import uuid

import pytest
from authentik_client import ApiClient, Configuration, CoreApi, ProvidersApi
from authentik_client.exceptions import BadRequestException, ForbiddenException, NotFoundException
from authentik_client.models import (
    Application,
    ApplicationRequest,
    ClientTypeEnum,
    MatchingModeEnum,
    OAuth2Provider,
    OAuth2ProviderRequest,
    RedirectURIRequest,
    SubModeEnum,
)

from conftest import BOB_KEY

FLOW = "7f1a0001-0000-4000-8000-000000000001"  # default-provider-authorization-implicit-consent


def clients(tokenstack, key):
    client = ApiClient(Configuration(host=tokenstack.authentik_url, access_token=key))
    return ProvidersApi(client), CoreApi(client)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def provider_request(name: str, **fields) -> OAuth2ProviderRequest:
    redirect = RedirectURIRequest(matching_mode=MatchingModeEnum.STRICT, url="https://app.example.com/cb")
    return OAuth2ProviderRequest(
        name=name, authorization_flow=FLOW, invalidation_flow=FLOW, redirect_uris=[redirect], **fields
    )


def test_provider_and_application_lifecycle(tokenstack):
    providers, core = clients(tokenstack, tokenstack.authentik_key)
    name = unique("wiki")
    provider = providers.providers_oauth2_create(provider_request(name))
    assert isinstance(provider, OAuth2Provider)
    assert provider.client_type == ClientTypeEnum.CONFIDENTIAL and len(provider.client_id) == 40
    assert (provider.access_token_validity, provider.refresh_token_validity) == ("hours=1", "days=30")
    assert providers.providers_oauth2_retrieve(provider.pk).client_secret == provider.client_secret
    assert [p.pk for p in providers.providers_oauth2_list(search=name).results] == [provider.pk]

    updated = providers.providers_oauth2_update(
        provider.pk, provider_request(name, sub_mode=SubModeEnum.USER_EMAIL, client_id=unique("client"))
    )
    assert updated.sub_mode == SubModeEnum.USER_EMAIL and updated.client_secret == provider.client_secret

    slug = unique("app")
    app = core.core_applications_create(ApplicationRequest(name="Wiki", slug=slug, provider=provider.pk))
    assert isinstance(app, Application) and app.provider_obj.assigned_application_slug == slug
    assert app.launch_url == "https://app.example.com"
    assert core.core_applications_retrieve(slug).provider == provider.pk
    assert slug in {a.slug for a in core.core_applications_list(page_size=100).results}
    assert providers.providers_oauth2_retrieve(provider.pk).assigned_application_name == "Wiki"
    with pytest.raises(BadRequestException) as clash:
        core.core_applications_create(ApplicationRequest(name="Other", slug=unique("app"), provider=provider.pk))
    assert "Application with this provider already exists." in clash.value.body

    core.core_applications_destroy(slug)
    with pytest.raises(NotFoundException):
        core.core_applications_retrieve(slug)
    assert providers.providers_oauth2_retrieve(provider.pk).assigned_application_slug is None
    providers.providers_oauth2_destroy(provider.pk)
    with pytest.raises(NotFoundException):
        providers.providers_oauth2_retrieve(provider.pk)


def test_seeded_provider_and_permissions(tokenstack):
    providers, _ = clients(tokenstack, tokenstack.authentik_key)
    seeded = providers.providers_oauth2_retrieve(1)
    assert (seeded.name, seeded.client_id) == ("grafana", "grafana-example-client-id")
    bob_providers, bob_core = clients(tokenstack, BOB_KEY)
    with pytest.raises(ForbiddenException):
        bob_providers.providers_oauth2_list()
    with pytest.raises(ForbiddenException):
        bob_core.core_applications_create(ApplicationRequest(name="x", slug=unique("x")))
