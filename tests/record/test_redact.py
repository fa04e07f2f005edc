"""Redaction: secrets never survive, placeholders are stable and keyed, everything else is kept
byte for byte. Property tests plant random secrets everywhere a rule covers; examples pin each
rule down."""

from __future__ import annotations

import base64
import json
import string
from typing import NamedTuple
from urllib.parse import quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backworks_cli.config.model import RedactConfig
from backworks_cli.core.errors import ConfigError
from backworks_cli.core.exchange import Exchange, Message, Request, Response
from backworks_cli.record.redact import Redactor, is_placeholder

KEY = b"test-key"
JSON_CT = (("Content-Type", "application/json"),)
FORM_CT = (("Content-Type", "application/x-www-form-urlencoded"),)
MULTIPART_CT = (("Content-Type", "multipart/form-data; boundary=X"),)
SSE_CT = (("Content-Type", "text/event-stream"),)
R = Redactor(KEY)
USER_RULES = RedactConfig(
    headers=("X-Tenant",),
    query=("tenantRef",),
    fields=("customer_ref",),
    patterns=(r"ZZ-[0-9]{6}",),
)
RU = Redactor(KEY, USER_RULES)


@pytest.fixture(autouse=True)
def _fresh_redactors():
    """R and RU built anew for each test: a Redactor caches what it learnt of header and field
    names, and one built at import would keep answering from what earlier tests taught it."""
    global R, RU
    R, RU = Redactor(KEY), Redactor(KEY, USER_RULES)


PROPS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies ------------------------------------------------------------------------------

# Secrets start with "S3": an upper-case letter, so no placeholder (lower-case hex) and no plain
# value (the alphabet below) can contain one by chance, and a digit, so "Bearer <secret>" counts.
secrets_st = st.text(string.ascii_letters + string.digits, min_size=8, max_size=24).map(
    lambda s: "S3" + s
)
# Plain data: no 'b' (no accidental "bearer"), no upper case (no "eyJ", no secret).
PLAIN_ALPHABET = "acdefghijklmnopqrstuvwxyz0123456789 .,é€"
plain_st = st.text(PLAIN_ALPHABET, max_size=12)

SECRET_FIELDS = [
    ["password"],
    ["passwd"],
    ["pwd"],
    ["pass"],
    ["secret"],
    ["token"],
    ["access", "token"],
    ["refresh", "token"],
    ["id", "token"],
    ["api", "key"],
    ["apikey"],
    ["client", "secret"],
    ["private", "key"],
    ["secret", "key"],
    ["auth"],
    ["authorization"],
    ["session", "id"],
    ["credit", "card"],
    ["card", "number"],
    ["cvv"],
    ["ssn"],
    ["stripe", "secret", "key"],
    ["db", "password"],
    ["x", "auth", "token"],
]
PLAIN_FIELDS = [
    ["id"],
    ["name"],
    ["title"],
    ["email"],
    ["city"],
    ["count"],
    ["created", "at"],
    ["items"],
    ["price"],
    ["description"],
    ["tags"],
    ["user"],
    ["token", "type"],
    ["max", "tokens"],
    ["expires", "in"],
    ["author"],
    ["status"],
]
SECRET_QUERY = [
    ["token"],
    ["access", "token"],
    ["refresh", "token"],
    ["id", "token"],
    ["api", "key"],
    ["apikey"],
    ["key"],
    ["secret"],
    ["client", "secret"],
    ["password"],
    ["passwd"],
    ["pwd"],
    ["signature"],
    ["sig"],
    ["auth"],
    ["session"],
    ["code"],
    ["x", "amz", "signature"],
    ["x", "amz", "credential"],
    ["x", "amz", "security", "token"],
]
PLAIN_QUERY = [["page"], ["sort"], ["q"], ["state"], ["redirect", "uri"], ["limit"]]


def styled(words: list[str], style: str) -> str:
    if style == "snake":
        return "_".join(words)
    if style == "kebab":
        return "-".join(words)
    if style == "camel":
        return words[0] + "".join(w.capitalize() for w in words[1:])
    if style == "pascal":
        return "".join(w.capitalize() for w in words)
    if style == "upper":
        return "_".join(words).upper()
    return "".join(words)


STYLES = ["snake", "kebab", "camel", "pascal", "upper", "flat"]


def names(words_list: list[list[str]]) -> st.SearchStrategy[str]:
    return st.builds(styled, st.sampled_from(words_list), st.sampled_from(STYLES))


secret_field_st = names(SECRET_FIELDS)
plain_field_st = names(PLAIN_FIELDS)

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    plain_st,
)
json_tree = st.recursive(
    json_leaf,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(plain_field_st, kids, max_size=4)
    ),
    max_leaves=15,
)
FORMATS = [
    {},
    {"indent": 2},
    {"separators": (",", ":")},
    {"indent": "\t", "ensure_ascii": False},
    {"separators": (" , ", " : "), "sort_keys": True},
]


def dict_nodes(value, out):
    if isinstance(value, dict):
        out.append(value)
        for v in value.values():
            dict_nodes(v, out)
    elif isinstance(value, list):
        for v in value:
            dict_nodes(v, out)
    return out


def expected_tree(value, secret_names: set[str], redactor: Redactor, under_secret=False):
    """What the redactor should make of a tree: planted secrets replaced, nothing else."""
    if isinstance(value, dict):
        return {
            k: expected_tree(v, secret_names, redactor, k in secret_names) for k, v in value.items()
        }
    if isinstance(value, list):
        return [expected_tree(v, secret_names, redactor, under_secret) for v in value]
    if under_secret and isinstance(value, str) and value.startswith("S3"):
        return redactor.placeholder(value)
    return value


@st.composite
def json_with_secrets(draw, field_names=secret_field_st):
    """(document, secrets, formatting): secrets planted at random depths, some in lists."""
    tree = draw(json_tree)
    root = tree if isinstance(tree, dict) else {"data": tree}
    nodes = dict_nodes(root, [])
    secret_names = set()
    for _ in range(draw(st.integers(1, 4))):
        node = draw(st.sampled_from(nodes))
        name = draw(field_names)
        secret_names.add(name)
        if draw(st.booleans()):
            node[name] = draw(secrets_st)
        else:
            node[name] = draw(st.lists(secrets_st, min_size=1, max_size=3))
    secrets = [s for s in json.dumps(root).split('"') if s.startswith("S3")]
    return root, secret_names, secrets, draw(st.sampled_from(FORMATS))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


jwt_st = st.builds(
    lambda sub, sig: b64url(b'{"alg":"HS256"}') + "." + b64url(sub.encode()) + "." + b64url(sig),
    secrets_st,
    st.binary(min_size=8, max_size=32),
)


def everything(ex: Exchange) -> str:
    """Every string an exchange carries, for "the secret appears nowhere" checks."""
    parts = [ex.request.path, ex.error or ""]
    parts += [f"{k}: {v}" for k, v in ex.request.headers + ex.request.query]
    parts.append(ex.request.body.decode("latin-1"))
    if ex.response is not None:
        parts += [f"{k}: {v}" for k, v in ex.response.headers]
        parts.append(ex.response.body.decode("latin-1"))
    parts += [m.content.decode("latin-1") for m in ex.messages]
    return "\n".join(parts)


class Case(NamedTuple):
    exchange: Exchange
    secrets: list[str]  # every secret planted, each a whole value some rule replaces
    plain_headers: list[tuple[str, str]]
    expected_body: bytes  # the request body as redaction must leave it


@st.composite
def exchanges(draw) -> Case:
    """An exchange with secrets planted by every rule, in random places and spellings."""
    secrets: list[str] = []

    def secret() -> str:
        value = draw(secrets_st)
        secrets.append(value)
        return value

    plain_headers = [
        ("Accept", "application/json"),
        ("X-Request-Id", draw(plain_st)),
        ("X-Authenticated-User", draw(plain_st)),
        ("User-Agent", "test/1.0 " + draw(plain_st)),
    ]
    scheme = draw(st.sampled_from(["Bearer", "Basic", "Token"]))
    custom = names([["x", "stripe", "secret"], ["x", "session", "id"], ["x", "upstream", "auth"]])
    makers = [
        lambda: ("Authorization", f"{scheme} {secret()}"),
        lambda: ("Cookie", "; ".join(f"c{i}={secret()}" for i in range(draw(st.integers(1, 3))))),
        lambda: (draw(st.sampled_from(["X-Api-Key", "x-goog-api-key", "X-CSRF-Token"])), secret()),
        lambda: (draw(custom), secret()),
        lambda: ("X-Tenant", secret()),  # a user rule
        lambda: ("X-Note", f"see {secret_pattern()} please"),  # a user pattern
    ]

    def secret_pattern() -> str:
        value = f"ZZ-{draw(st.integers(100000, 999999))}"
        secrets.append(value)
        return value

    credential_headers = [make() for make in makers if draw(st.booleans())]
    query = [
        (styled(w, "snake"), draw(plain_st))
        for w in draw(st.lists(st.sampled_from(PLAIN_QUERY), max_size=3))
    ]
    query += [(draw(names(SECRET_QUERY)), secret()) for _ in range(draw(st.integers(0, 3)))]
    if draw(st.booleans()):
        query.append(("tenantRef", secret()))
    query = draw(st.permutations(query))

    if draw(st.booleans()):
        doc, secret_names, body_secrets, fmt = draw(
            json_with_secrets(secret_field_st | st.just("customer_ref"))
        )
        secrets += body_secrets
        body = json.dumps(doc, **fmt).encode()
        expected_body = json.dumps(expected_tree(doc, secret_names, RU), **fmt).encode()
        content_type = "application/json"
    else:
        fields = [(styled(w, "snake"), draw(plain_st)) for w in PLAIN_FIELDS[:3]]
        fields += [(draw(names(SECRET_FIELDS + SECRET_QUERY)), secret()) for _ in range(2)]
        fields = draw(st.permutations(fields))
        body = "&".join(f"{k}={quote_plus(v)}" for k, v in fields).encode()
        expected_body = "&".join(
            f"{k}={RU.placeholder(v) if v.startswith('S3') else quote_plus(v)}" for k, v in fields
        ).encode()
        content_type = "application/x-www-form-urlencoded"

    jwt = draw(jwt_st)
    secrets.append(jwt)
    bearer = secret()
    request = Request(
        "POST",
        "/api/" + draw(st.text(string.ascii_lowercase, max_size=8)),
        query=tuple(query),
        headers=tuple(draw(st.permutations(plain_headers + credential_headers)))
        + (("Content-Type", content_type),),
        body=body,
    )
    location = f"https://example.test/cb?code={secret()}&state=plain#access_token={secret()}"
    response = Response(
        200,
        headers=(
            ("Set-Cookie", f"sid={secret()}; Path=/; HttpOnly; SameSite=Lax"),
            ("Location", location),
            ("Content-Type", "text/plain; charset=utf-8"),
        ),
        body=f"issued {jwt} to you; retry with Bearer {bearer} soon".encode(),
    )
    binary = draw(st.binary(min_size=1, max_size=16)) + b"\xff"
    messages = (
        Message("client", json.dumps({"type": "auth", "accessToken": secret()}).encode()),
        Message("server", f"welcome, Bearer {bearer}".encode()),
        Message("server", binary, is_text=False),
    )
    ex = Exchange(request, response, kind="websocket", messages=messages)
    return Case(ex, secrets, plain_headers, expected_body)


# --- properties ------------------------------------------------------------------------------


@settings(PROPS, max_examples=200)
@given(exchanges())
def test_exchange_redaction(case: Case):
    """No planted secret survives anywhere; each is replaced by its stable placeholder; all
    else is kept; redacting again changes nothing."""
    ex = case.exchange
    red = RU.exchange(ex)
    blob = everything(red)
    for secret in case.secrets:
        assert secret not in blob
        assert RU.placeholder(secret) in blob

    for header in case.plain_headers:
        assert header in red.request.headers
    assert [n for n, _ in red.request.headers] == [n for n, _ in ex.request.headers]
    assert [n for n, _ in red.request.query] == [n for n, _ in ex.request.query]
    assert red.request.body == case.expected_body
    assert red.messages[2] == ex.messages[2]
    set_cookie = red.response.header("set-cookie")
    assert set_cookie.startswith("sid=redacted:")
    assert set_cookie.endswith("; Path=/; HttpOnly; SameSite=Lax")
    assert "&state=plain#access_token=redacted:" in red.response.header("location")

    assert RU.exchange(red) is red


@PROPS
@given(json_with_secrets())
def test_json_bodies_stay_valid_and_keep_their_formatting(case):
    doc, secret_names, secrets, fmt = case
    body = json.dumps(doc, **fmt).encode()
    red = R.request(Request("POST", "/", body=body)).body
    assert red == json.dumps(expected_tree(doc, secret_names, R), **fmt).encode()
    for secret in secrets:
        assert secret.encode() not in red


@PROPS
@given(secrets_st, st.sampled_from(["header", "cookie", "query", "json", "text", "message"]))
def test_same_secret_same_placeholder_across_exchanges(secret, where):
    first = Exchange(Request("GET", "/", headers=(("Authorization", f"Bearer {secret}"),)))
    placements = {
        "header": Request("GET", "/", headers=(("X-Api-Key", secret),)),
        "cookie": Request("GET", "/", headers=(("Cookie", f"a=b; token={secret}"),)),
        "query": Request("GET", "/", query=(("access_token", secret),)),
        "json": Request("POST", "/", body=json.dumps({"auth": {"token": secret}}).encode()),
        "text": Request("POST", "/", body=f"Authorization: Bearer {secret}".encode()),
        "message": Request("GET", "/"),
    }
    messages = (
        (Message("client", f'{{"apiKey": "{secret}"}}'.encode()),) if where == "message" else ()
    )
    second = Exchange(placements[where], messages=messages)
    placeholder = R.placeholder(secret)
    assert placeholder in everything(R.exchange(first))
    assert placeholder in everything(R.exchange(second))
    assert secret not in everything(R.exchange(second))


@PROPS
@given(st.text(min_size=1, max_size=40))
def test_placeholders_are_keyed_and_deterministic(secret):
    ph = R.placeholder(secret)
    assert ph == Redactor(KEY).placeholder(secret)
    assert is_placeholder(ph)
    assert ph != Redactor(b"another key").placeholder(secret)


@PROPS
@given(
    json_tree, st.sampled_from(FORMATS), st.lists(st.tuples(plain_field_st, plain_st), max_size=4)
)
def test_nothing_to_redact_means_identical_bytes(tree, fmt, headers):
    body = json.dumps(tree, **fmt).encode()
    ex = Exchange(
        Request("POST", "/x", query=(("page", "2"),), headers=tuple(headers), body=body),
        Response(200, headers=(("Content-Type", "application/json"),), body=body),
        messages=(Message("server", body),),
    )
    assert R.exchange(ex) is ex
    assert RU.exchange(ex) is ex


@PROPS
@given(st.binary(max_size=200))
def test_binary_bodies_are_left_alone(data):
    data = b"\xff\xfe" + data  # never UTF-8
    ex = Exchange(
        Request("POST", "/", headers=(("Content-Type", "application/octet-stream"),), body=data),
        Response(200, body=data),
    )
    red = R.exchange(ex)
    assert red.request.body is data
    assert red.response.body is data


@PROPS
@given(secrets_st, plain_st, st.sampled_from(["password", "client_secret", "code", "apiKey"]))
def test_form_bodies(secret, plain, name):
    body = f"user=bob&{name}={secret}&note={plain.replace(' ', '+')}".encode()
    red = R.request(
        Request(
            "POST", "/", headers=(("Content-Type", "application/x-www-form-urlencoded"),), body=body
        )
    )
    expected = f"user=bob&{name}={R.placeholder(secret)}&note={plain.replace(' ', '+')}"
    assert red.body.decode() == expected


# --- headers ---------------------------------------------------------------------------------

CREDENTIAL_HEADERS = [
    "Authorization",
    "Proxy-Authorization",
    "X-Api-Key",
    "Api-Key",
    "X-Auth-Token",
    "X-Access-Token",
    "X-CSRF-Token",
    "X-XSRF-Token",
    "X-Amz-Security-Token",
    "X-Goog-Api-Key",
    "X-Session-Id",
    "X-Client-Secret",
    "X-Db-Password",
    "X-Hub-Signature-256",
    "X-Upstream-Auth",
    "x_custom_apikey",
    "Ocp-Apim-Subscription-Key",
]


@pytest.mark.parametrize("name", CREDENTIAL_HEADERS)
def test_credential_headers(name):
    req = R.request(Request("GET", "/", headers=((name, "s3cr3t-value"),)))
    assert req.headers == ((name, R.placeholder("s3cr3t-value")),)


@pytest.mark.parametrize(
    "name, value",
    [
        ("Content-Length", "123"),
        ("Content-Type", "application/json"),
        ("X-Authenticated-User", "alice@example.com"),
        ("WWW-Authenticate", 'Bearer realm="api", error="invalid_token", error_description="x"'),
        ("Proxy-Authenticate", 'Basic realm="proxy"'),
        (":authority", "api.example.com"),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Headers", "Authorization, X-Api-Key"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("X-Token-Type", "bearer"),
        ("X-Author", "jane"),
    ],
)
def test_harmless_headers_are_kept(name, value):
    req = Request("GET", "/", headers=((name, value),))
    assert R.request(req) is req


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Bearer abc.def-123", "Bearer {}"),
        ("Basic dXNlcjpwYXNz", "Basic {}"),
        ("bearer  abc.def-123", "bearer  {}"),
        ("Token abc.def-123", "Token {}"),
        ('Digest username="u", response="abc.def-123"', "Digest {}"),
        ("AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=abc.def-123", "AWS4-HMAC-SHA256 {}"),
        ("abc.def-123", "{}"),
    ],
)
def test_authorization_keeps_its_scheme(value, expected):
    red = R.request(Request("GET", "/", headers=(("Authorization", value),)))
    secret = value.split(None, 1)[1] if " " in value else value
    assert red.header("authorization") == expected.format(R.placeholder(secret.strip()))


def test_other_credential_headers_keep_only_known_schemes():
    red = R.request(
        Request("GET", "/", headers=(("X-Api-Key", "Bearer abc"), ("X-Auth-Token", "ab cd")))
    )
    assert red.headers == (
        ("X-Api-Key", f"Bearer {R.placeholder('abc')}"),
        ("X-Auth-Token", R.placeholder("ab cd")),
    )


def test_cookies_keep_names_and_attributes():
    red = R.exchange(
        Exchange(
            Request("GET", "/", headers=(("Cookie", 'sid=abc; theme="dark"; empty=; bare'),)),
            Response(
                200,
                headers=(
                    (
                        "Set-Cookie",
                        "sid=abc; Path=/; HttpOnly; Expires=Wed, 21 Oct 2015 07:28:00 GMT",
                    ),
                    ("Set-Cookie", "pref=; Max-Age=0"),
                ),
            ),
        )
    )
    ph = R.placeholder
    assert (
        red.request.header("cookie")
        == f'sid={ph("abc")}; theme="{ph("dark")}"; empty=; {ph("bare")}'
    )
    assert red.response.headers == (
        ("Set-Cookie", f"sid={ph('abc')}; Path=/; HttpOnly; Expires=Wed, 21 Oct 2015 07:28:00 GMT"),
        ("Set-Cookie", "pref=; Max-Age=0"),
    )


def test_folded_set_cookie_lines_are_each_redacted():
    red = R.response(Response(200, headers=(("set-cookie", "a=1; Path=/\nb=2; Secure"),)))
    assert red.headers[0][1] == f"a={R.placeholder('1')}; Path=/\nb={R.placeholder('2')}; Secure"


def test_jwts_and_bearer_tokens_in_any_header():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"
    red = R.request(
        Request(
            "GET",
            "/",
            headers=(("X-Forwarded-Client", f"id={jwt}"), ("X-Debug", "was Bearer abcdef12345")),
        )
    )
    assert red.headers == (
        ("X-Forwarded-Client", f"id={R.placeholder(jwt)}"),
        ("X-Debug", f"was Bearer {R.placeholder('abcdef12345')}"),
    )


# --- query parameters and URLs ---------------------------------------------------------------


@pytest.mark.parametrize("words", SECRET_QUERY)
@pytest.mark.parametrize("style", ["snake", "kebab", "camel", "upper"])
def test_secret_query_parameters(words, style):
    name = styled(words, style)
    red = R.request(Request("GET", "/", query=((name, "v4lue"), ("page", "2"))))
    assert red.query == ((name, R.placeholder("v4lue")), ("page", "2"))


def test_query_in_path_and_url_headers():
    red = R.exchange(
        Exchange(
            Request(
                "GET",
                "/cb?code=abc&state=xyz&x=a%20b",
                headers=(("Referer", "https://app.test/login?api_key=k%2B1&lang=en"),),
            ),
            Response(
                302,
                headers=(
                    ("Location", "https://app.test/done#access_token=tok&token_type=bearer"),
                    ("Content-Location", "/r?Signature=sig&X-Amz-Credential=cred"),
                ),
            ),
        )
    )
    ph = R.placeholder
    assert red.request.path == f"/cb?code={ph('abc')}&state=xyz&x=a%20b"
    assert red.request.header("referer") == f"https://app.test/login?api_key={ph('k+1')}&lang=en"
    assert (
        red.response.header("location")
        == f"https://app.test/done#access_token={ph('tok')}&token_type=bearer"
    )
    assert (
        red.response.header("content-location")
        == f"/r?Signature={ph('sig')}&X-Amz-Credential={ph('cred')}"
    )


def test_jwt_in_a_plain_query_value_and_path():
    jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."
    red = R.request(Request("GET", f"/verify/{jwt}", query=(("state", jwt),)))
    assert red.path == f"/verify/{R.placeholder(jwt)}"
    assert red.query == (("state", R.placeholder(jwt)),)


# --- JSON bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "words", SECRET_FIELDS + [["credit", "card", "number"], ["session"], ["jwt"]]
)
@pytest.mark.parametrize("style", STYLES)
def test_secret_json_fields(words, style):
    name = styled(words, style)
    body = json.dumps({"user": "bob", "deep": [{"x": {name: "v4lue"}}]}).encode()
    red = R.request(Request("POST", "/", body=body))
    assert json.loads(red.body) == {"user": "bob", "deep": [{"x": {name: R.placeholder("v4lue")}}]}


@pytest.mark.parametrize(
    "name",
    [
        "token_type",
        "max_tokens",
        "tokenType",
        "expires_in",
        "secretName",
        "password_hint",
        "author",
        "key",
    ],
)
def test_fields_that_describe_secrets_are_kept(name):
    req = Request("POST", "/", body=json.dumps({name: "bearer", "n": 1}).encode())
    assert R.request(req) is req


def test_json_values_by_type():
    body = (
        b'{"auth": {"user": "bob", "password": "p"}, "pin": 1234, "cvv": 1.5e3, "token": null,'
        b' "secret": true, "password": "", "api_keys": [["a", 7], {"name": "n"}]}'
    )
    red = json.loads(R.request(Request("POST", "/", body=body)).body)
    ph = R.placeholder
    assert red == {
        "auth": {"user": "bob", "password": ph("p")},  # an object under a secret name is walked
        "pin": ph("1234"),
        "cvv": ph("1.5e3"),  # numbers are replaced by the placeholder of their text
        "token": None,
        "secret": True,
        "password": "",
        "api_keys": [[ph("a"), ph("7")], {"name": "n"}],  # list items are secrets, objects decide
    }


def test_json_formatting_and_escapes_are_preserved():
    body = (
        b'{\n  "name" : "caf\\u00e9 \\/ \xc3\xa9",\n\t"password":"p\\"w",\r\n'
        b'  "n": 1.50, "list": [ 1 , 2 ]  }  '
    )
    red = R.request(Request("POST", "/", body=body)).body
    expected = body.replace(b'"p\\"w"', json.dumps(R.placeholder('p"w')).encode())
    assert red == expected


def test_escaped_keys_are_recognised():
    body = b'{"pass\\u0077ord": "hunter2"}'
    red = R.request(Request("POST", "/", body=body)).body
    assert json.loads(red) == {"password": R.placeholder("hunter2")}


def test_duplicate_keys_are_all_redacted():
    red = R.request(Request("POST", "/", body=b'{"token": "a", "token": "b"}')).body
    assert red == f'{{"token": "{R.placeholder("a")}", "token": "{R.placeholder("b")}"}}'.encode()


def test_bom_and_non_standard_numbers():
    body = '\ufeff{"x": NaN, "y": -Infinity, "token": "t"}'.encode()
    red = R.request(Request("POST", "/", body=body)).body
    assert red == f'\ufeff{{"x": NaN, "y": -Infinity, "token": "{R.placeholder("t")}"}}'.encode()


def test_json_string_values_are_scanned_for_tokens():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"
    # "\\/" is JSON for "/": patterns see the decoded value, so the whole token goes.
    body = b'{"note": "use\\t%s", "header": "Bearer abc\\/def12345"}' % jwt.encode()
    red = json.loads(R.request(Request("POST", "/", body=body)).body)
    assert red == {
        "note": "use\t" + R.placeholder(jwt),
        "header": "Bearer " + R.placeholder("abc/def12345"),
    }


def test_invalid_json_falls_back_to_text_rules():
    body = b'{"password": "p", broken eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln'
    red = R.request(Request("POST", "/", body=body)).body
    assert (
        red
        == (
            f'{{"password": "{R.placeholder("p")}", broken '
            f"{R.placeholder('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln')}"
        ).encode()
    )


def test_deeply_nested_json_does_not_crash():
    body = b"[" * 100_000 + b"]" * 100_000
    req = Request("POST", "/", body=body)
    assert R.request(req) is req


def test_ndjson_lines():
    body = b'{"id": 1, "token": "a"}\n{"id": 2}\n\n{"id": 3, "token": "b"}\n'
    red = R.request(
        Request("POST", "/", headers=(("Content-Type", "application/x-ndjson"),), body=body)
    )
    ph = R.placeholder
    lines = [
        f'{{"id": 1, "token": "{ph("a")}"}}',
        '{"id": 2}',
        "",
        f'{{"id": 3, "token": "{ph("b")}"}}',
    ]
    assert red.body == ("\n".join(lines) + "\n").encode()


def test_large_bodies():
    rows = [{"id": i, "name": f"user{i}", "tags": ["a", "b"]} for i in range(20_000)]
    clean = json.dumps(rows).encode()
    req = Request("POST", "/", body=clean)
    assert R.request(req) is req
    rows[-1]["refresh_token"] = "r3fresh"
    red = R.request(Request("POST", "/", body=json.dumps(rows).encode())).body
    assert b"r3fresh" not in red
    assert json.loads(red)[-1]["refresh_token"] == R.placeholder("r3fresh")


# --- text bodies, messages, errors -----------------------------------------------------------


def test_free_text_tokens():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"
    jwe = "eyJhbGciOiJSU0EtT0FFUCJ9.a2V5.aXY.Y2lwaGVy.dGFn"
    prose = "Bearer token required. Bearer abcdef12345=, BEARER XyZ_1234567"
    body = f"a {jwt}. b {jwe} c\n{prose}".encode()
    red = R.response(Response(401, body=body)).body.decode()
    ph = R.placeholder
    assert red == (
        f"a {ph(jwt)}. b {ph(jwe)} c\nBearer token required. "
        f"Bearer {ph('abcdef12345=')}, BEARER {ph('XyZ_1234567')}"
    )


def test_event_stream_and_messages():
    stream = (
        b'event: token\ndata: {"access_token": "a1", "n": 1}\n\ndata: plain Bearer abcdef12345\n\n'
    )
    ex = Exchange(
        Request("GET", "/events"),
        Response(200, headers=(("Content-Type", "text/event-stream"),), body=stream),
        kind="sse",
        messages=(
            Message("server", b'{"access_token": "a1", "n": 1}'),
            Message("client", b"\xff\x00token", is_text=False),
            Message("client", b"\xff\xfe not utf-8 eyJhbGciOiJ9.eyJzdWIiOiIxIn0.c2ln"),
        ),
        error="upstream said: Bearer abcdef12345 expired",
    )
    red = R.exchange(ex)
    ph = R.placeholder
    assert (
        red.response.body
        == (
            f'event: token\ndata: {{"access_token": "{ph("a1")}", "n": 1}}\n\n'
            f"data: plain Bearer {ph('abcdef12345')}\n\n"
        ).encode()
    )
    assert red.messages[0].content == f'{{"access_token": "{ph("a1")}", "n": 1}}'.encode()
    assert red.messages[1] == ex.messages[1]
    # A text message that is not UTF-8 keeps its bytes; the token in it is still replaced.
    jwt = "eyJhbGciOiJ9.eyJzdWIiOiIxIn0.c2ln"
    assert red.messages[2].content == b"\xff\xfe not utf-8 " + ph(jwt).encode()
    assert red.error == f"upstream said: Bearer {ph('abcdef12345')} expired"


def test_content_length_follows_a_changed_body():
    body = b'{"password": "hunter2"}'
    req = R.request(
        Request(
            "POST", "/", headers=(("Content-Length", str(len(body))), ("X-Other", "1")), body=body
        )
    )
    assert req.header("content-length") == str(len(req.body))
    stale = R.request(Request("POST", "/", headers=(("Content-Length", "7"),), body=body))
    assert stale.header("content-length") == "7"


# --- user rules, disabling, errors -----------------------------------------------------------


def test_user_rules_add_to_the_defaults():
    req = Request(
        "POST",
        "/orders/ZZ-123456",
        query=(("tenant-ref", "t1"), ("token", "t2"), ("page", "ZZ-654321")),
        headers=(("x-tenant", "acme"), ("X-Api-Key", "k"), ("X-Note", "ref ZZ-111111 ok")),
        body=json.dumps(
            {"customerRef": "c1", "password": "p", "card": 4111111111111111, "ok": "ZZ-1"}
        ).encode(),
    )
    red = RU.request(req)
    ph = RU.placeholder
    assert red.path == f"/orders/{ph('ZZ-123456')}"
    assert red.query == (("tenant-ref", ph("t1")), ("token", ph("t2")), ("page", ph("ZZ-654321")))
    assert red.headers == (
        ("x-tenant", ph("acme")),
        ("X-Api-Key", ph("k")),
        ("X-Note", f"ref {ph('ZZ-111111')} ok"),
    )
    assert json.loads(red.body) == {
        "customerRef": ph("c1"),
        "password": ph("p"),
        "card": 4111111111111111,
        "ok": "ZZ-1",
    }
    assert R.request(req).headers[0] == ("x-tenant", "acme")  # not a default rule


def test_user_patterns_reach_json_numbers():
    r = Redactor(KEY, RedactConfig(patterns=(r"4[0-9]{15}",)))
    red = r.request(Request("POST", "/", body=b'{"card": 4111111111111111, "n": 4}')).body
    assert red == f'{{"card": "{r.placeholder("4111111111111111")}", "n": 4}}'.encode()


def test_user_patterns_do_not_touch_placeholders():
    r = Redactor(KEY, RedactConfig(patterns=(r"[0-9a-f]{4,}", r"redacted")))
    once = r.request(
        Request("POST", "/", headers=(("Authorization", "Bearer 1234abcd"),), body=b"id beef01")
    )
    assert once.body == f"id {r.placeholder('beef01')}".encode()
    assert once.header("authorization") == f"Bearer {r.placeholder('1234abcd')}"
    assert r.request(once) is once


@pytest.mark.parametrize(
    "pattern, words", [("([a-z", "not a valid regular expression"), ("x*", "empty string")]
)
def test_bad_user_patterns_are_config_errors(pattern, words):
    with pytest.raises(ConfigError) as info:
        Redactor(KEY, RedactConfig(patterns=(pattern,)))
    assert words in info.value.message
    assert repr(pattern) in info.value.message
    assert info.value.hint


def test_disabled_rules_redact_nothing():
    r = Redactor(KEY, RedactConfig(enabled=False, patterns=("x",)))
    ex = Exchange(
        Request("GET", "/", headers=(("Authorization", "Bearer abc"),), body=b'{"password": "p"}'),
        Response(200, headers=(("Set-Cookie", "a=b"),)),
    )
    assert r.exchange(ex) is ex
    assert r.request(ex.request) is ex.request
    assert r.response(ex.response) is ex.response
    assert r.placeholder("abc") == R.placeholder("abc")


def test_str_keys_and_repeat_redaction_of_examples():
    r = Redactor("test-key")  # type: ignore[arg-type]
    assert r.placeholder("x") == R.placeholder("x")
    ex = Exchange(
        Request("GET", "/?token=a", headers=(("Cookie", "a=1"),), body=b'{"pwd": 5}'),
        Response(200, body=b"Bearer abcdef12345"),
    )
    once = r.exchange(ex)
    assert once != ex
    assert r.exchange(once) is once


def test_escaped_strings_stay_valid_when_rewritten():
    jwt = b"eyJhbGciOiJ9.eyJzdWIiOiIxIn0.c2ln"
    body = b'{"note": "\\ud800 \\u00e9 Bearer abcdef12345", "raw": "\xc3\xa9 %s"}' % jwt
    red = R.request(Request("POST", "/", body=body)).body
    assert red == (
        b'{"note": "\\ud800 \\u00e9 Bearer ' + R.placeholder("abcdef12345").encode() + b'", '
        b'"raw": "\xc3\xa9 ' + R.placeholder(jwt.decode()).encode() + b'"}'
    )
    red.decode("utf-8")


# --- the Bearer rule, name/value pairs and stream messages, case by case ----------------------


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("Bearer abcdefg1", "abcdefg1"),  # 8 characters, the shortest token
        ("Bearer abcdef1", None),  # 7: a word
        ("Bearer abcdefghijklmnopqrs", None),  # 19 letters: prose
        ("Bearer abcdefghijklmnopqrst", "abcdefghijklmnopqrst"),  # 20 letters: a token
        ("Bearer YWJjZGVmZ2g=", "YWJjZGVmZ2g="),  # padding belongs to the token
        ("bearer realm=abcdefgh", None),  # a parameter, whatever follows it
        ('Bearer realm="api", error="invalid_token"', None),  # a challenge
        ("Bearer Realm=", None),
        ("Bearer scope=", None),
        ("Bearer realm", None),
        ("authentication with Bearer tokens", None),
    ],
)
def test_the_bearer_rule_tells_tokens_from_words_and_parameters(text, token):
    red = R.request(Request("GET", "/", headers=(("X-Note", text),)))
    expected = text if token is None else text.replace(token, R.placeholder(token))
    assert red.headers == (("X-Note", expected),)


def test_name_value_pairs_are_judged_by_their_name():
    pairs = [
        {"name": "DB_PASSWORD", "value": "not-random-at-all"},  # a secret name, any value
        {"name": "X-Api-Key", "value": "short-key"},  # a credential header's name
        {"name": "Host", "value": "api.example.com"},  # a header, but not a secret one
        {"name": "color", "value": "blue-ish"},
        {"value": "S3cr3tValue9", "key": "password"},  # value first, `key` as the name
        {"name": "deploy_key", "value": "q8Zr2LmX0vT7wKp4Yb6N"},  # random under a key-like name
        {"name": "deploy_key", "value": "not random"},
        {"name": "password", "value": ""},
    ]
    body = json.dumps({"env": pairs}).encode()
    found = R.findings(Exchange(Request("POST", "/", headers=JSON_CT, body=body)))
    assert found == {
        "not-random-at-all": "secret name 'DB_PASSWORD'",
        "short-key": "secret name 'X-Api-Key'",
        "S3cr3tValue9": "secret name 'password'",
        "q8Zr2LmX0vT7wKp4Yb6N": "random value under a key-like name",
    }
    red = json.loads(R.request(Request("POST", "/", headers=JSON_CT, body=body)).body)["env"]
    assert [p["value"] for p in red[2:4]] == ["api.example.com", "blue-ish"]
    assert red[6]["value"] == "not random" and red[7]["value"] == ""
    assert all(is_placeholder(red[i]["value"]) for i in (0, 1, 5))


def test_stream_messages_by_kind():
    secret = "S3cr3tValue9"
    ph = R.placeholder(secret)
    sse_json = f'data: {{"password": "{secret}"}}\n\n'.encode()
    text = f"password={secret} and more".encode()
    binary = b"\x00\x01 Bearer " + secret.encode() + b" \xff"
    empty = b""
    messages = (
        Message("server", sse_json, True, 1.0),
        Message("server", empty, True, 2.0),
        Message("server", text, True, 3.0),
        Message("client", binary, False, 4.0),
        Message("server", b"no data here", True, 5.0),
    )
    red = R.exchange(Exchange(Request("GET", "/events"), messages=messages, kind="sse"))
    contents = [m.content for m in red.messages]
    assert contents[0] == f'data: {{"password": "{ph}"}}\n\n'.encode()
    assert contents[1] == b""
    assert contents[2] == f"password={ph} and more".encode()
    assert contents[3] == b"\x00\x01 Bearer " + ph.encode() + b" \xff"
    assert red.messages[4] is messages[4]
    # A message after an empty one is still redacted, and the same in a WebSocket.
    ws = R.exchange(Exchange(Request("GET", "/ws"), messages=messages, kind="websocket"))
    assert [m.content for m in ws.messages][2:4] == contents[2:4]
    # In a WebSocket a `data:` line is text, not an event: JSON after it is not parsed.
    assert secret.encode() not in ws.messages[0].content


def test_form_values_are_read_decoded_and_written_back_encoded():
    token = "ghp_" + "a1B2" * 9
    body = f"note=Bearer+abcdefgh12&token=a=b&x={token}&plain=a%20b+c&empty=&flag".encode()
    red = R.request(Request("POST", "/f", headers=FORM_CT, body=body))
    ph = R.placeholder
    assert (
        red.body
        == (
            f"note=Bearer+{ph('abcdefgh12')}&token={ph('a=b')}&x={ph(token)}"
            "&plain=a%20b+c&empty=&flag"
        ).encode()
    )
    # A secret whose encoded form holds "%": decoded to find it, encoded again around it.
    red = R.request(Request("POST", "/f", headers=FORM_CT, body=b"note=see%3A+Bearer%20abcdefgh12"))
    assert red.body == f"note=see:+Bearer+{ph('abcdefgh12')}".encode()


def test_multipart_parts_each_by_their_name_and_type():
    def part(name: str, content: bytes, ctype: str | None = None) -> bytes:
        head = f'Content-Disposition: form-data; name="{name}"\r\n'
        if ctype:
            head += f"Content-Type: {ctype}\r\n"
        return b"--X\r\n" + head.encode() + b"\r\n" + content + b"\r\n"

    body = (
        b"".join(
            [
                part("empty", b""),
                part("comment", b"hello"),
                part("password", b"\xffhunter2"),  # not UTF-8: decoded with replacement
                part("api_key", b"k3y"),
                part("doc", b'{"secret": "s1", "n": 1}', "application/json"),
                part("notes", b"token=abc123xyz"),
            ]
        )
        + b"--X--\r\n"
    )
    red = R.request(Request("POST", "/m", headers=MULTIPART_CT, body=body))
    ph = R.placeholder
    expected = (
        b"".join(
            [
                part("empty", b""),
                part("comment", b"hello"),
                part("password", ph("\ufffdhunter2").encode()),
                part("api_key", ph("k3y").encode()),
                part("doc", f'{{"secret": "{ph("s1")}", "n": 1}}'.encode(), "application/json"),
                part("notes", f"token={ph('abc123xyz')}".encode()),
            ]
        )
        + b"--X--\r\n"
    )
    assert red.body == expected
    clean = part("comment", b"hello") + b"--X--\r\n"
    assert R.request(Request("POST", "/m", headers=MULTIPART_CT, body=clean)).body is clean


def test_event_stream_data_by_field_rules_other_lines_as_text():
    body = (
        b'id: 1\nevent: login\ndata: {"password": "hunter2", "user": "ada"}\n\n'
        b"retry: 100\ndata: plain words\n: comment Bearer abcdefgh12\n\n"
    )
    red = R.response(Response(200, headers=SSE_CT, body=body))
    ph = R.placeholder
    assert (
        red.body
        == (
            f'id: 1\nevent: login\ndata: {{"password": "{ph("hunter2")}", "user": "ada"}}\n\n'
            f"retry: 100\ndata: plain words\n: comment Bearer {ph('abcdefgh12')}\n\n"
        ).encode()
    )
    clean = b"data: plain words\n\n"
    assert R.response(Response(200, headers=SSE_CT, body=clean)).body is clean


def test_findings_say_which_rule_found_each_secret():
    token = "ghp_" + "a1B2" * 9
    body = json.dumps(
        {
            "password": "hunter2hunter2",
            "deploy_key": "q8Zr2LmX0vT7wKp4Yb6N",
            "env": [{"Name": "API_TOKEN", "Value": "tok-value-1"}],
            "note": f"see {token}",
            "link": "https://example.com/cb?token=abcdef123456",
        }
    ).encode()
    ex = Exchange(
        Request(
            "POST",
            "/reset/0123456789abcdef0123",
            headers=(
                ("Authorization", "Basic dXNlcjpwYXNz"),
                ("X-Api-Key", "k-123456"),
                ("Cookie", "sid=cookie-value-1"),
                ("X-Trace", "Bearer abcdefgh12"),
                *JSON_CT,
            ),
            body=body,
        ),
        Response(200, headers=(("Set-Cookie", "sid=cookie-value-2; Path=/"),)),
    )
    assert R.findings(ex) == {
        "dXNlcjpwYXNz": "credential header",
        "k-123456": "credential header",
        "cookie-value-1": "cookie",
        "cookie-value-2": "cookie",
        "abcdefgh12": "bearer token",
        "0123456789abcdef0123": "token in the path",
        "hunter2hunter2": "secret name",
        "q8Zr2LmX0vT7wKp4Yb6N": "random value under a key-like name",
        "tok-value-1": "secret name 'API_TOKEN'",
        token: "GitHub token",
        "abcdef123456": "secret URL parameter",
    }
    assert RU.findings(Exchange(Request("GET", "/x", query=(("n", "ZZ-123456"),)))) == {
        "ZZ-123456": "pattern"
    }


# --- what the mutants of redact.py showed untested -------------------------------------------


def test_placeholders_are_the_keyed_hmac_of_the_secret_and_differ_per_secret():
    import hashlib
    import hmac

    one, two = R.placeholder("S3cretOne1"), R.placeholder("S3cretTwo2")
    assert one != two
    assert one == "redacted:" + hmac.new(KEY, b"S3cretOne1", hashlib.sha256).hexdigest()[:16]
    # A lone surrogate (text that was not UTF-8) has a placeholder of its own too.
    odd = R.placeholder("S3cret\ud800x")
    assert is_placeholder(odd) and odd not in (one, R.placeholder("S3cret?x"))


def test_findings_name_the_query_parameter_and_url_rules():
    query = Exchange(Request("GET", "/x", query=(("access_token", "abc123def456"),)))
    assert R.findings(query) == {"abc123def456": "secret query parameter"}
    failed = Exchange(Request("GET", "/x"), error="GET https://h.test/cb?token=abcdef123456 failed")
    assert R.findings(failed) == {"abcdef123456": "secret URL parameter"}
    token = "ghp_" + "a1B2" * 9
    plain = Request("POST", "/n", headers=(("Content-Type", "text/plain"),), body=token.encode())
    assert R.findings(Exchange(plain)) == {token: "GitHub token"}


def test_an_error_message_is_redacted_and_no_error_stays_none():
    """An error can hold the only copy of a secret (the URL that failed)."""
    ex = Exchange(Request("GET", "/x"), error="GET http://h.test/?token=abcdef123456 (refused)")
    ph = R.placeholder("abcdef123456")
    assert R.exchange(ex).error == f"GET http://h.test/?token={ph} (refused)"
    clean = Exchange(Request("GET", "/x"), error=None)
    assert R.exchange(clean).error is None


def test_text_already_redacted_is_kept_as_it_is():
    ph = R.placeholder("abcdef123456")
    for ex in (
        Exchange(Request("GET", "/x"), error=f"GET https://h.test/cb?token={ph} failed"),
        Exchange(Request("GET", "/x", headers=(("Cookie", f"sid={ph}"),))),
        Exchange(Request("GET", "/x", headers=(("Authorization", f"Custom {ph}"),))),
        Exchange(Request("GET", f"/cb?token={ph}")),
    ):
        assert R.exchange(ex) == ex
        assert R.findings(ex) == {}


def test_a_redactor_forgets_earlier_secrets_unless_asked_to_remember():
    token = "q8Zr2LmX0vT7wKp4"
    login = Exchange(Request("POST", "/login", query=(("token", token),)))
    later = Exchange(Request("GET", f"/items/{token}"))
    forgetful = Redactor(KEY)
    forgetful.exchange(login)
    assert forgetful.exchange(later).request.path == f"/items/{token}"
    session = Redactor(KEY, remember=2)
    session.exchange(login)
    assert session.exchange(later).request.path == f"/items/{session.placeholder(token)}"


def test_remembered_secrets_are_long_enough_and_the_oldest_go_first():
    session = Redactor(KEY, remember=2)

    def seen(secret: str) -> None:
        session.exchange(Exchange(Request("GET", "/login", query=(("token", secret),))))

    def replaced_later(secret: str) -> bool:
        path = session.exchange(Exchange(Request("GET", f"/i/{secret}/x"))).request.path
        return secret not in path

    seen("Ab3dEf7h")  # eight characters: remembered
    seen("Ab3dEf7")  # seven: spreads, but too short to be remembered
    assert replaced_later("Ab3dEf7h") and not replaced_later("Ab3dEf7")
    seen("1234567")  # digits spread only from eight on
    assert not replaced_later("1234567")
    seen("Zz9yYx8wWv")
    seen("Qq1rRs2tTu")  # a third: the oldest ("Ab3dEf7h") is forgotten
    assert not replaced_later("Ab3dEf7h")
    assert replaced_later("Zz9yYx8wWv") and replaced_later("Qq1rRs2tTu")


def test_headers_named_like_authorization_keep_any_scheme():
    for name in ("Authorization", "Proxy-Authorization", "X-Upstream-Authorization"):
        req = Request("GET", "/", headers=((name, "Custom abc123xyz789"),))
        assert R.request(req).headers == ((name, f"Custom {R.placeholder('abc123xyz789')}"),)
        again = Request("GET", "/", headers=((name, "Custom abc123xyz789"),))
        assert R.request(again).headers == R.request(req).headers  # from the name cache
    # Another credential header keeps only the schemes it knows; the rest goes whole.
    req = Request("GET", "/", headers=(("X-Api-Key", "Custom abc123xyz789"),))
    assert R.request(req).headers == (("X-Api-Key", R.placeholder("Custom abc123xyz789")),)


def test_set_cookie2_and_odd_cookie_values():
    resp = Response(200, headers=(("Set-Cookie2", "sid=cookie-value-2; Version=1"),))
    ph = R.placeholder("cookie-value-2")
    assert R.response(resp).headers == (("Set-Cookie2", f"sid={ph}; Version=1"),)
    req = Request("GET", "/", headers=(("Cookie", 'a=""; b=abc=def123; c="q1w2e3r4"'),))
    assert R.request(req).headers == (
        ("Cookie", f'a=""; b={R.placeholder("abc=def123")}; c="{R.placeholder("q1w2e3r4")}"'),
    )


def test_reset_tokens_in_relative_and_short_paths():
    token = "0123456789abcdef"  # sixteen characters: the shortest taken for a token
    resp = Response(302, headers=(("Location", f"reset/{token}"),))
    assert R.response(resp).headers == (("Location", f"reset/{R.placeholder(token)}"),)
    assert R.request(Request("GET", f"/reset/{token}")).path == f"/reset/{R.placeholder(token)}"
    assert R.request(Request("GET", f"/reset/{token[:-1]}")).path == f"/reset/{token[:-1]}"


def test_a_query_or_fragment_in_the_path_is_redacted_by_its_parameters():
    ph = R.placeholder("abcdef123456")
    assert R.request(Request("GET", "/cb?token=abcdef123456")).path == f"/cb?token={ph}"
    implicit = R.request(Request("GET", "/cb#access_token=abcdef123456&state=x"))
    assert implicit.path == f"/cb#access_token={ph}&state=x"
    both = R.request(Request("GET", "/cb?a=1#access_token=abcdef123456"))
    assert both.path == f"/cb?a=1#access_token={ph}"


def test_event_stream_messages_and_bodies_are_read_as_json_per_data_line():
    """Only as events are `data:` lines JSON: a key-like name's random value is found there,
    and not when the same bytes are a WebSocket message or a text/plain body."""
    payload = b'event: x\ndata: {"deploy_key": "q8Zr2LmX0vT7wKp4Yb6N"}\n\n'
    ph = R.placeholder("q8Zr2LmX0vT7wKp4Yb6N").encode()
    sse = R.exchange(
        Exchange(Request("GET", "/e"), messages=(Message("server", payload),), kind="sse")
    )
    assert sse.messages[0].content == payload.replace(b"q8Zr2LmX0vT7wKp4Yb6N", ph)
    ws = R.exchange(
        Exchange(Request("GET", "/e"), messages=(Message("server", payload),), kind="websocket")
    )
    assert ws.messages[0].content == payload
    stream = R.response(Response(200, headers=SSE_CT, body=payload))
    assert stream.body == payload.replace(b"q8Zr2LmX0vT7wKp4Yb6N", ph)
    text = Response(200, headers=(("Content-Type", "text/plain"),), body=payload)
    assert R.response(text).body == payload


def test_names_ending_in_pwd_and_user_names_in_forms_are_secret():
    ph = R.placeholder("hunter2hunter2")
    doc = R.request(Request("POST", "/j", headers=JSON_CT, body=b'{"dbpwd": "hunter2hunter2"}'))
    assert doc.body == f'{{"dbpwd": "{ph}"}}'.encode()
    form = R.request(Request("POST", "/f", headers=FORM_CT, body=b"userpwd=hunter2hunter2&a=b"))
    assert form.body == f"userpwd={ph}&a=b".encode()
    # The user's field and query names both count in a form body.
    body = b"customer_ref=c-123456&tenantRef=t-654321&other=1"
    red = RU.request(Request("POST", "/f", headers=FORM_CT, body=body))
    assert (
        red.body
        == (
            f"customer_ref={RU.placeholder('c-123456')}&tenantRef={RU.placeholder('t-654321')}"
            "&other=1"
        ).encode()
    )


def test_findings_of_form_fields_and_multipart_parts_name_the_secret_name_rule():
    form = Request("POST", "/f", headers=FORM_CT, body=b"password=hunter2hunter2")
    assert R.findings(Exchange(form)) == {"hunter2hunter2": "secret name"}
    multipart = (
        b'--X\r\nContent-Disposition: form-data; name="api_key"\r\n\r\nk-abcdef123\r\n--X--\r\n'
    )
    parts = Request("POST", "/m", headers=MULTIPART_CT, body=multipart)
    assert R.findings(Exchange(parts)) == {"k-abcdef123": "secret name"}


def test_long_bearer_challenge_parameters_are_kept_and_padded_tokens_replaced():
    challenge = 'Bearer error_description="the token expired", error="invalid_token"'
    resp = Response(401, headers=(("WWW-Authenticate", challenge),))
    assert R.response(resp).headers == (("WWW-Authenticate", challenge),)
    text = Request(
        "POST", "/n", headers=(("Content-Type", "text/plain"),), body=b"Bearer abcd1234efgh=="
    )
    assert R.request(text).body == f"Bearer {R.placeholder('abcd1234efgh==')}".encode()


def test_name_value_pairs_under_header_only_secret_names_and_in_either_order():
    body = json.dumps(
        [
            {"Name": "X-Session", "Value": "abc123def456"},  # a secret header name, not a field
            {"value": "tok-value-2", "name": "API_TOKEN"},  # the value first
            {"Name": "Host", "Value": "api.example.com"},
        ]
    ).encode()
    red = json.loads(R.request(Request("POST", "/env", headers=JSON_CT, body=body)).body)
    assert red[0]["Value"] == R.placeholder("abc123def456")
    assert red[1]["value"] == R.placeholder("tok-value-2")
    assert red[2]["Value"] == "api.example.com"


def test_random_values_count_only_under_key_like_names():
    body = json.dumps(
        {"deploy_key": "q8Zr2LmX0vT7wKp4Yb6N", "trace": "Zk3Qw9Lm2Vx7Rt5Yp1Nb"}
    ).encode()
    red = json.loads(R.request(Request("POST", "/k", headers=JSON_CT, body=body)).body)
    assert red == {
        "deploy_key": R.placeholder("q8Zr2LmX0vT7wKp4Yb6N"),
        "trace": "Zk3Qw9Lm2Vx7Rt5Yp1Nb",
    }


def test_secrets_inside_json_strings_escaped_or_as_pairs():
    token = "ghp_" + "a1B2" * 9
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlMTIzNDU2"
    doc = (
        '{"link": "https:\\/\\/h.test\\/cb?token=abcdef123456", "note": "password=hunter2hunter2",'
        f' "said": "use {jwt} here", "message": "sent Bearer abcdefgh12 first", "gh": "{token}"}}'
    )
    red = R.request(Request("POST", "/s", headers=JSON_CT, body=doc.encode())).body.decode()
    for secret in ("abcdef123456", "hunter2hunter2", jwt, "abcdefgh12", token):
        assert secret not in red and R.placeholder(secret) in red, secret
    assert json.loads(red)["link"].startswith("https://h.test/cb?token=")


def test_key_value_pairs_and_xml_elements_in_one_text():
    text = b"password=hunter2hunter2\n<token>abcdef123456</token>\n"
    red = R.request(Request("POST", "/t", headers=(("Content-Type", "text/plain"),), body=text))
    assert (
        red.body
        == (
            f"password={R.placeholder('hunter2hunter2')}\n"
            f"<token>{R.placeholder('abcdef123456')}</token>\n"
        ).encode()
    )


def test_pairs_at_the_start_of_a_json_string_are_found():
    """A JSON field's own `"name": "value"` pair must not hide the pairs its value holds."""
    for doc in (
        '{"note": "password=hunter2hunter2"}',
        '{"env": "a=1 DB_PASSWORD=hunter2hunter2"}',
        '["password=hunter2hunter2"]',
    ):
        red = R.request(Request("POST", "/", headers=JSON_CT, body=doc.encode())).body.decode()
        assert red == doc.replace("hunter2hunter2", R.placeholder("hunter2hunter2")), doc
    clean = '{"note": "a=1 b=2"}'
    assert (
        R.request(Request("POST", "/", headers=JSON_CT, body=clean.encode())).body.decode() == clean
    )


def test_a_bom_and_escaped_names_do_not_hide_json_secrets():
    doc = '\ufeff{"deploy_key": "q8Zr2LmX0vT7wKp4Yb6N"}'
    red = R.response(Response(200, headers=JSON_CT, body=doc.encode())).body.decode()
    assert red == doc.replace("q8Zr2LmX0vT7wKp4Yb6N", R.placeholder("q8Zr2LmX0vT7wKp4Yb6N"))
    pair = '[{"Name": "API\\u005fTOKEN", "Value": "tok-value-3"}]'
    red = R.request(Request("POST", "/", headers=JSON_CT, body=pair.encode())).body.decode()
    assert red == pair.replace("tok-value-3", R.placeholder("tok-value-3"))
