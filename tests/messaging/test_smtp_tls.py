"""STARTTLS and AUTH against aiosmtpd with a certificate made for the test."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tenure.alerts.delivery import deliver_due

from ..alerts.conftest import free_port
from .delivery_helpers import ScriptedSink, queue_messages


def self_signed(folder: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 and its key; return both paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.pem", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_sink(tmp_path):
    """Run aiosmtpd requiring STARTTLS, then AUTH (user cs, password s3cret), on loopback."""
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    sink = ScriptedSink(port=free_port())

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret"
        if ok:
            sink.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=sink.port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
    )
    controller.start()
    try:
        yield sink, cert
    finally:
        controller.stop()


def test_starttls_and_login_once_per_drain(engine, settings, tls_sink, frozen_clock):
    """Three messages over one encrypted, authenticated session."""
    sink, cert = tls_sink
    settings = settings.model_copy(
        update={
            "smtp_port": sink.port,
            "smtp_starttls": True,
            "smtp_ca_file": cert,
            "smtp_username": "cs",
            "smtp_password": "s3cret",
        }
    )
    queue_messages(engine, settings, ["a@acme.io", "b@acme.io", "c@acme.io"])
    assert deliver_due(engine, settings).sent == 3
    assert sink.logins == ["cs"] and len(sink.peers) == 1 and len(sink.messages) == 3
    assert sink.ehlos == 2  # before and after STARTTLS


def test_wrong_password_is_retried_not_bounced(engine, settings, tls_sink, frozen_clock):
    """A refused login is the server's problem, not the recipient's: a retry, no suppression."""
    sink, cert = tls_sink
    settings = settings.model_copy(
        update={
            "smtp_port": sink.port,
            "smtp_starttls": True,
            "smtp_ca_file": cert,
            "smtp_username": "cs",
            "smtp_password": "wrong",
        }
    )
    queue_messages(engine, settings, ["a@acme.io", "b@acme.io"])
    assert deliver_due(engine, settings).counts()["retrying"] == 2
    assert sink.messages == [] and sink.logins == []
