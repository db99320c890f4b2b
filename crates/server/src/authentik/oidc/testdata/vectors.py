"""Reference values for jose/tests.rs, computed the way authentik computes them.

Run with PyJWT 2.11.0 and cryptography 46.0.7 (authentik 2026.x's pins):
    python3 -m venv /tmp/v && /tmp/v/bin/pip install pyjwt==2.11.0 cryptography==46.0.7
    /tmp/v/bin/python vectors.py > vectors.json
The keys and certificates are fixed test material, never used outside the tests: rsa.key, ec.key and
ec-p384.key from `openssl genpkey` (PKCS#8), rsa-pkcs1.key and ec-sec1.key the same keys re-encoded with
`openssl rsa -traditional` and `openssl ec`, rsa.crt and ec.crt from this script's `--certificates`
(authentik's CertificateBuilder names, fixed dates)."""

import datetime
import json
import sys
from base64 import b64encode, urlsafe_b64encode
from hashlib import sha512
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

HERE = Path(__file__).parent


def b64u_uint(val: int, min_length: int = 0) -> str:
    length = max((val.bit_length() + 7) // 8, min_length)
    return urlsafe_b64encode(val.to_bytes(length, "big")).decode().rstrip("=")


def kid(key_data: str) -> str:
    return urlsafe_b64encode(sha512(key_data.encode("utf-8")).digest()).decode("utf-8").rstrip("=")


def jwk(key_data: str, cert_data: str) -> dict:
    private_key = serialization.load_pem_private_key(key_data.encode(), password=None)
    cert = x509.load_pem_x509_certificate(cert_data.encode())
    data = {}
    if isinstance(private_key, rsa.RSAPrivateKey):
        numbers = private_key.public_key().public_numbers()
        data["alg"] = "RS256"
        data["kid"] = kid(key_data)
        data["kty"] = "RSA"
        data["use"] = "sig"
        data["n"] = b64u_uint(numbers.n)
        data["e"] = b64u_uint(numbers.e)
    else:
        numbers = private_key.public_key().public_numbers()
        data["alg"] = "ES256"
        data["kid"] = kid(key_data)
        data["kty"] = "EC"
        data["use"] = "sig"
        data["x"] = b64u_uint(numbers.x, 32)
        data["y"] = b64u_uint(numbers.y, 32)
        data["crv"] = "P-256"
    data["x5c"] = [b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("utf-8")]
    data["x5t"] = urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).decode("utf-8").rstrip("=")
    data["x5t#S256"] = urlsafe_b64encode(cert.fingerprint(hashes.SHA256())).decode("utf-8").rstrip("=")
    return data


def certificate(key_file: str, name: str) -> str:
    key = serialization.load_pem_private_key((HERE / key_file).read_bytes(), password=None)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "authentik"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Self-signed"),
        ]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "authentik 2026.8.5")]))
        .not_valid_before(datetime.datetime(2026, 1, 1))
        .not_valid_after(datetime.datetime(2036, 1, 1))
        .serial_number(0x1234567890ABCDEF)
        .public_key(key.public_key())
    )
    return builder.sign(private_key=key, algorithm=hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


if "--certificates" in sys.argv:
    (HERE / "rsa.crt").write_text(certificate("rsa.key", "tokenstack test rsa"))
    (HERE / "ec.crt").write_text(certificate("ec.key", "tokenstack test ec"))
    sys.exit(0)

rsa_key = (HERE / "rsa.key").read_text()
ec_key = (HERE / "ec.key").read_text()
# The payload of an access token as IDToken.to_access_token builds it (dict order kept by PyJWT).
payload = {
    "iss": "http://localhost:9000/application/o/app/",
    "sub": "3f6b8e...hashed",
    "aud": "client-id",
    "exp": 1767229200,
    "iat": 1767225600,
    "auth_time": 1767225600,
    "acr": "goauthentik.io/providers/oauth2/default",
    "jti": "jti-1",
    "name": "Zoë",
    "azp": "client-id",
    "uid": "uid-1",
    "scope": "openid profile",
}
out = {
    "rsa_kid": kid(rsa_key),
    "ec_kid": kid(ec_key),
    "rsa_jwks": json.dumps({"keys": [jwk(rsa_key, (HERE / "rsa.crt").read_text())]}),
    "ec_jwks": json.dumps({"keys": [jwk(ec_key, (HERE / "ec.crt").read_text())]}),
    "payload": json.dumps(payload),
    "rs256": jwt.encode(payload, serialization.load_pem_private_key(rsa_key.encode(), None), algorithm="RS256",
                        headers={"kid": kid(rsa_key)}),
    "hs256": jwt.encode(payload, "s3cr3t-client-secret", algorithm="HS256", headers={}),
}
print(json.dumps(out, indent=2))
