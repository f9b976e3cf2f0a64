"""What the fake API server needs of the wire beyond JSON: the protobuf bodies clients send
for built-in kinds, and TLS with a CA made for the test run.

kubectl (client-go since 1.31) sends SelfSubjectAccessReview as protobuf and does not fall
back to JSON. The body is the `k8s\\0` magic and a `runtime.Unknown` (typeMeta, raw); the
raw bytes are the object. Only the fields an access review needs are read, by hand.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import ssl
import tempfile
from pathlib import Path
from typing import Any

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    """The body is not a protobuf the fake can read."""


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def fields(data: bytes) -> dict[int, list[bytes | int]]:
    """A protobuf message's fields by number: bytes for length-delimited, int for varint."""
    found: dict[int, list[bytes | int]] = {}
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        value: bytes | int
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 2:
            length, at = _varint(data, at)
            value, at = data[at : at + length], at + length
        elif wire == 1:
            value, at = int.from_bytes(data[at : at + 8], "little"), at + 8
        elif wire == 5:
            value, at = int.from_bytes(data[at : at + 4], "little"), at + 4
        else:
            raise ProtobufError(f"wire type {wire}")
        found.setdefault(number, []).append(value)
    return found


def _text(message: dict[int, list[bytes | int]], number: int) -> str:
    value = message.get(number, [b""])[-1]
    return value.decode() if isinstance(value, bytes) else str(value)


def _message(message: dict[int, list[bytes | int]], number: int) -> dict[int, list[bytes | int]]:
    value = message.get(number, [b""])[-1]
    return fields(value) if isinstance(value, bytes) else {}


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf body as the JSON object it stands for. Reads SelfSubjectAccessReview
    (spec.resourceAttributes, spec.nonResourceAttributes), SelfSubjectRulesReview
    (spec.namespace) and SelfSubjectReview (no spec);
    any other kind raises `ProtobufError`."""
    if not body.startswith(MAGIC):
        raise ProtobufError("no k8s\\0 envelope")
    unknown = fields(body[len(MAGIC) :])
    type_meta = _message(unknown, 1)
    api_version, kind = _text(type_meta, 1), _text(type_meta, 2)
    raw = unknown.get(2, [b""])[-1]
    obj = fields(raw) if isinstance(raw, bytes) else {}
    out: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    if kind == "SelfSubjectReview":
        return out
    if kind == "SelfSubjectRulesReview":  # spec (2) holds only the namespace (1)
        out["spec"] = {"namespace": _text(_message(obj, 2), 1)}
        return out
    if kind != "SelfSubjectAccessReview":
        raise ProtobufError(f"the fake reads no {kind or 'unnamed kind'} from protobuf")
    spec = _message(obj, 2)
    names = ("namespace", "verb", "group", "version", "resource", "subresource", "name")
    spec_out: dict[str, Any] = {}
    if 1 in spec:
        attributes = _message(spec, 1)
        spec_out["resourceAttributes"] = {
            key: _text(attributes, i) for i, key in enumerate(names, 1) if i in attributes
        }
    if 2 in spec:
        attributes = _message(spec, 2)
        spec_out["nonResourceAttributes"] = {
            key: _text(attributes, i) for i, key in enumerate(("path", "verb"), 1)
        }
    out["spec"] = spec_out
    return out


@functools.lru_cache(maxsize=1)
def fake_ca() -> tuple[bytes, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 and localhost, made once per run:
    (the CA's PEM, the server certificate's file, the server key's file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-kube test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="fake-kube-tls-"))
    cert_file, key_file = folder / "server.crt", folder / "server.key"
    cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca.public_bytes(serialization.Encoding.PEM), cert_file, key_file


def server_context() -> ssl.SSLContext:
    _, cert_file, key_file = fake_ca()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context
