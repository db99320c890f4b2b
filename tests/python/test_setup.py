"""A setup script's first calls, in its order, through the official authentik client unmodified: readiness on
/root/config/, then the flows it looks up by slug and designation, and the key pair it looks up by name.
"""

from __future__ import annotations

import pytest
from authentik_client import ApiClient, Configuration, CryptoApi, FlowsApi, RootApi
from authentik_client.exceptions import BadRequestException, ForbiddenException, NotFoundException
from authentik_client.models import (
    AlgEnum,
    CertificateGenerationRequest,
    CertificateKeyPair,
    CertificateKeyPairRequest,
    Config,
    Flow,
    FlowDesignationEnum,
)

from conftest import BOB_KEY


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
