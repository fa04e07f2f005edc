"""The capture CA: where it lives (BACKWORKS_HOME, default ~/.backworks) and how to trust it
(`backworks certs`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def backworks_home() -> Path:
    return Path(os.environ.get("BACKWORKS_HOME") or Path.home() / ".backworks")


def certs_dir() -> Path:
    return backworks_home() / "certs"


@dataclass(frozen=True)
class CAInfo:
    directory: Path
    pem: Path

    def render(self) -> str:
        return (
            f"Capture CA certificate: {self.pem}\n"
            f"(directory {self.directory}; set BACKWORKS_HOME to keep it elsewhere)\n\n"
            "`backworks capture --forward` intercepts HTTPS with certificates signed by this CA.\n"
            "Trust it in the client you capture from, for example:\n"
            f"  curl --cacert {self.pem} --proxy http://127.0.0.1:8080 https://api.example.com/\n"
            f"  REQUESTS_CA_BUNDLE={self.pem} SSL_CERT_FILE={self.pem} "
            "HTTPS_PROXY=http://127.0.0.1:8080 python app.py\n"
            f"  NODE_EXTRA_CA_CERTS={self.pem} HTTPS_PROXY=http://127.0.0.1:8080 node app.js\n"
            "or system-wide on Debian/Ubuntu:\n"
            f"  sudo cp {self.pem} /usr/local/share/ca-certificates/backworks.crt "
            "&& sudo update-ca-certificates\n"
            "Keep the CA's private key (mitmproxy-ca.pem beside it) to yourself."
        )


def ensure_ca() -> CAInfo:
    """Create the capture CA if it does not exist yet and say where it is."""
    from mitmproxy.certs import CertStore

    directory = certs_dir()
    directory.mkdir(parents=True, exist_ok=True)
    CertStore.from_store(directory, "mitmproxy", 2048)
    return CAInfo(directory=directory, pem=directory / "mitmproxy-ca-cert.pem")
