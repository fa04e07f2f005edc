"""Shared fixtures: a real sample API on loopback, a real `backworks capture` subprocess."""

from __future__ import annotations

import datetime
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sample_api():
    from backworks_cli.sample_api import serve_sample_api

    with serve_sample_api() as url:
        yield url


@dataclass
class Capture:
    """A running `backworks capture` subprocess; its stderr is collected by a thread."""

    proc: subprocess.Popen
    port: int
    store: Path
    home: Path
    lines: list[str]
    reader: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, str]:
        """Signal the process (unless it has exited), wait, and return (exit code, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float = 30) -> tuple[int, str]:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=10)
        return self.proc.returncode, self.stderr


def follow_stderr(proc: subprocess.Popen, ready_prefix: str):
    """Collect a backworks subprocess's stderr in a thread: (lines, reader thread, event set
    once a line starts with `ready_prefix` or the stream ends)."""
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if line.startswith(ready_prefix):
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader, ready


def start_capture(
    tmp_path: Path,
    *args: str,
    store: Path | None = None,
    env=None,
    default_admin: bool = False,
    **popen,
):
    """Start capture on a free port and wait until it says it is listening. The admin API is
    served on a free port of its own unless `--admin` is given or `default_admin` asks for the
    default (off)."""
    port = free_port()
    store = store or tmp_path / "recordings" / "backworks.db"
    home = tmp_path / "home"
    if "--admin" not in args and not default_admin:
        # Tests exercise it; `--admin on` (the port + 1) could be a client's source port here.
        args = (*args, "--admin", f"127.0.0.1:{free_port()}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "backworks_cli", "capture", "--listen", f"127.0.0.1:{port}"]
        + ["--store", str(store), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "BACKWORKS_HOME": str(home), **(env or {})},
        **popen,
    )
    lines, reader, ready = follow_stderr(proc, "Listening on")
    cap = Capture(proc, port, store, home, lines, reader)
    if not ready.wait(30) or proc.poll() is not None:
        code, err = cap.stop()
        raise AssertionError(f"capture did not start (exit {code}):\n{err}")
    return cap


@pytest.fixture
def capture(tmp_path):
    """Factory: capture(*cli_args) -> Capture; every process started is stopped afterwards."""
    started: list[Capture] = []

    def start(*args: str, **kwargs) -> Capture:
        cap = start_capture(tmp_path, *args, **kwargs)
        started.append(cap)
        return cap

    yield start
    for cap in started:
        if cap.proc.poll() is None:
            cap.proc.kill()
            cap.proc.communicate()


@dataclass
class TlsFiles:
    ca_pem: Path
    cert_pem: Path
    key_pem: Path


def make_tls(directory: Path) -> TlsFiles:
    """A private CA and a certificate for localhost/127.0.0.1 signed by it."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "backworks test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    files.ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files
