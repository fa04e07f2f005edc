"""A generated corpus of secrets of every shape, placed in every kind of body and header.

Each secret is drawn from a seeded random generator in the shape its provider issues, so no
real secret is ever committed and every run meets the same corpus.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass, field
from urllib.parse import quote

from backworks_cli.core.exchange import Exchange, Message, Request, Response

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64URL = ALNUM + "-_"


@dataclass
class Case:
    label: str
    secrets: list[str]
    exchange: Exchange
    # A request a client sends through a proxy (method, path with query, headers, body).
    method: str = "POST"
    target: str = "/anything"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Shapes:
    """Secrets in their providers' shapes, from one seeded generator."""

    def __init__(self, seed: int = 13):
        self.rng = random.Random(seed)

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def all(self) -> dict[str, str]:
        c = self.chars
        jwt_head = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
        pem_body = "\n".join(c(ALNUM + "+/", 64) for _ in range(6))
        return {
            "github_classic": "ghp_" + c(ALNUM, 36),
            "github_fine": "github_pat_" + c(ALNUM, 22) + "_" + c(ALNUM, 59),
            "gitlab": "glpat-" + c(ALNUM + "_-", 20),
            "aws_access": "AKIA" + c(string.ascii_uppercase + string.digits, 16),
            "aws_secret": c(ALNUM + "/+", 40),
            "stripe_live": "sk_live_" + c(ALNUM, 24),
            "stripe_test": "sk_test_" + c(ALNUM, 24),
            "stripe_restricted": "rk_live_" + c(ALNUM, 24),
            "slack_bot": "xoxb-"
            + c(string.digits, 12)
            + "-"
            + c(string.digits, 13)
            + "-"
            + c(ALNUM, 24),
            "slack_app": "xapp-1-A"
            + c(string.ascii_uppercase + string.digits, 10)
            + "-"
            + c(string.digits, 13)
            + "-"
            + c(HEX, 64),
            "google": "AIza" + c(B64URL, 35),
            "openai_project": "sk-proj-" + c(B64URL, 48),
            "openai_legacy": "sk-" + c(ALNUM, 20) + "T3BlbkFJ" + c(ALNUM, 20),
            "anthropic": "sk-ant-api03-" + c(B64URL, 93) + "AA",
            "twilio": "SK" + c(HEX, 32),
            "sendgrid": "SG." + c(B64URL, 22) + "." + c(B64URL, 43),
            "npm": "npm_" + c(ALNUM, 36),
            "pypi": "pypi-AgEIcHlwaS5vcmc" + c(B64URL, 80),
            "shopify": "shpat_" + c(HEX, 32),
            "huggingface": "hf_" + c(ALNUM, 34),
            "jwt": f"{jwt_head}.{c(B64URL, 40)}.{c(B64URL, 43)}",
            "pem": f"-----BEGIN RSA PRIVATE KEY-----\n{pem_body}\n-----END RSA PRIVATE KEY-----",
            "password": c(string.ascii_letters, 6) + c(string.digits, 3) + "!" + c(ALNUM, 4),
            "db_password": c(ALNUM, 18),
            "sentry_key": c(HEX, 32),
            "s3_signature": c(HEX, 64),
            "shopify_hmac": c(HEX, 64),
            "reset_token": c(B64URL, 43),
            "maps_key": c(ALNUM, 39),
            "random_key": c(ALNUM, 32),
        }


def _json(value) -> bytes:
    return json.dumps(value).encode()


def _ex(req: Request, resp: Response | None = None, **kw) -> Exchange:
    return Exchange(req, resp, **kw)


def cases(seed: int = 13) -> list[Case]:
    """Every placement the corpus covers, each with the secrets it holds."""
    s = Shapes(seed).all()
    out: list[Case] = []

    def add(label, secrets, req, resp=None, **kw):
        headers = dict(req.headers)
        target = req.path + ("?" + "&".join(f"{k}={v}" for k, v in req.query) if req.query else "")
        out.append(
            Case(label, secrets, _ex(req, resp, **kw), req.method, target, headers, req.body)
        )

    JSON = (("Content-Type", "application/json"),)
    add(
        "env object of provider tokens",
        [s["github_classic"], s["stripe_live"], s["npm"]],
        Request(
            "POST",
            "/deploys",
            headers=JSON,
            body=_json(
                {
                    "env": {
                        "GITHUB_PAT": s["github_classic"],
                        "STRIPE": s["stripe_live"],
                        "NPM": s["npm"],
                    }
                }
            ),
        ),
    )
    add(
        "ordinary names",
        [s["github_fine"], s["maps_key"], s["google"], s["random_key"]],
        Request(
            "POST",
            "/settings",
            headers=JSON,
            body=_json(
                {
                    "repo_pat": s["github_fine"],
                    "maps_key": s["maps_key"],
                    "config": {"google": s["google"]},
                    "key": s["random_key"],
                }
            ),
        ),
    )
    add(
        "name/value array",
        [s["slack_bot"], s["stripe_test"], s["db_password"]],
        Request(
            "PUT",
            "/vars",
            headers=JSON,
            body=_json(
                [
                    {"name": "SLACK", "value": s["slack_bot"]},
                    {"name": "BILLING", "value": s["stripe_test"]},
                    {"name": "DB_PASSWORD", "value": s["db_password"]},
                ]
            ),
        ),
    )
    ini = (
        f"[default]\naws_access_key_id = {s['aws_access']}\n"
        f"aws_secret_access_key = {s['aws_secret']}\n"
    )
    add(
        "INI text body",
        [s["aws_access"], s["aws_secret"]],
        Request("POST", "/upload", headers=(("Content-Type", "text/plain"),), body=ini.encode()),
    )
    boundary = "----bwb" + Shapes(seed + 1).chars(ALNUM, 12)
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="user"\r\n\r\nada\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="password"\r\n\r\n'
        f"{s['password']}\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename=".env"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n"
        f"HF_TOKEN={s['huggingface']}\nSENDGRID_KEY={s['sendgrid']}\n\r\n"
        f"--{boundary}--\r\n"
    )
    add(
        "multipart fields and an uploaded .env",
        [s["password"], s["huggingface"], s["sendgrid"]],
        Request(
            "POST",
            "/forms",
            headers=(("Content-Type", f"multipart/form-data; boundary={boundary}"),),
            body=multipart.encode(),
        ),
    )
    soap = (
        '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">'
        "<soap:Header><wsse:Security><wsse:UsernameToken><wsse:Username>ada</wsse:Username>"
        f'<wsse:Password Type="PasswordText">{s["db_password"]}</wsse:Password>'
        f"</wsse:UsernameToken></wsse:Security></soap:Header><soap:Body><apiKey>{s['random_key']}</apiKey>"
        "</soap:Body></soap:Envelope>"
    )
    add(
        "SOAP password and XML apiKey",
        [s["db_password"], s["random_key"]],
        Request("POST", "/soap", headers=(("Content-Type", "text/xml"),), body=soap.encode()),
    )
    query = f'mutation {{ login(user: "ada", password: "{s["password"]}") {{ token }} }}'
    add(
        "GraphQL query text and variables",
        [s["password"], s["openai_project"]],
        Request(
            "POST",
            "/graphql",
            headers=JSON,
            body=_json({"query": query, "variables": {"apiToken": s["openai_project"]}}),
        ),
    )
    add(
        "DSN in text",
        [s["db_password"]],
        Request(
            "POST",
            "/notes",
            headers=(("Content-Type", "text/plain"),),
            body=f"use postgres://app:{s['db_password']}@db.internal:5432/shop".encode(),
        ),
    )
    add(
        "URLs: userinfo in JSON and Location, Sentry DSN, presigned URL",
        [s["db_password"], s["sentry_key"], s["s3_signature"]],
        Request("GET", "/links"),
        Response(
            302,
            headers=(
                ("Content-Type", "application/json"),
                ("Location", f"https://app:{s['db_password']}@files.example.com/x"),
            ),
            body=_json(
                {
                    "mirror": f"https://app:{s['db_password']}@mirror.example.com/repo.git",
                    "sentry": f"https://{s['sentry_key']}@o12345.ingest.sentry.io/678",
                    "download": "https://bucket.s3.amazonaws.com/report.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                    f"&X-Amz-Date=20240101T000000Z&X-Amz-Signature={s['s3_signature']}",
                }
            ),
        ),
    )
    add(
        "reset token in the path, Shopify hmac",
        [s["reset_token"], s["shopify_hmac"]],
        Request(
            "GET",
            f"/password/reset/{s['reset_token']}",
            query=(("shop", "demo"), ("hmac", s["shopify_hmac"])),
        ),
    )
    add(
        "PEM under key",
        [s["pem"], s["pem"].splitlines()[1]],
        Request("POST", "/keys", headers=JSON, body=_json({"key": s["pem"], "name": "deploy"})),
    )
    add(
        "latin-1 JSON",
        [s["password"]],
        Request(
            "POST",
            "/login",
            headers=(("Content-Type", "application/json; charset=iso-8859-1"),),
            body=json.dumps({"user": "Zoë", "password": s["password"]}, ensure_ascii=False).encode(
                "latin-1"
            ),
        ),
    )
    event = {"event": "issued", "credential": {"value": s["anthropic"]}, "note": s["twilio"]}
    sse = f"event: token\ndata: {json.dumps(event)}\n\n"
    add(
        "server-sent events",
        [s["anthropic"], s["twilio"]],
        Request("GET", "/events"),
        Response(200, headers=(("Content-Type", "text/event-stream"),), body=sse.encode()),
        kind="sse",
        messages=(Message("server", sse.strip().encode()),),
    )
    add(
        "WebSocket text and binary",
        [s["openai_legacy"], s["shopify"], s["pypi"]],
        Request("GET", "/ws", headers=(("Upgrade", "websocket"),)),
        Response(101),
        kind="websocket",
        messages=(
            Message("client", f"auth {s['openai_legacy']}".encode()),
            Message("server", b"\x00\x01" + s["shopify"].encode() + b"\xff", is_text=False),
            Message("client", f"publish token={s['pypi']}".encode()),
        ),
    )
    request_body = {"user": "ada", "password": s["password"], "jwt": s["jwt"]}
    add(
        "echoes: escaped JSON, URL-encoded, base64, cookie",
        [s["password"], s["jwt"], s["gitlab"]],
        Request(
            "POST",
            "/anything",
            query=(("access_token", s["gitlab"]),),
            headers=(*JSON, ("Cookie", f"sid={s['gitlab']}")),
            body=_json(request_body),
        ),
        Response(
            200,
            headers=JSON,
            body=_json(
                {
                    "data": json.dumps(request_body),
                    "url": f"http://127.0.0.1/anything?access_token={quote(s['gitlab'])}",
                    "headers": {"Cookie": f"sid={s['gitlab']}"},
                    "b64": base64.b64encode(s["password"].encode()).decode(),
                    "echo": f"you sent {s['password']}",
                }
            ),
        ),
    )
    return out


def survivors(text: str, secrets: list[str]) -> list[str]:
    """The secrets still in `text`, as written or in the encodings an echo uses."""
    found = []
    for secret in secrets:
        forms = {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}
        if any(form in text for form in forms):
            found.append(secret)
    return found
