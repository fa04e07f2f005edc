"""Hypothesis strategies shared by the tests: any Exchange the records can hold."""

from hypothesis import strategies as st

from backworks_cli.core.exchange import Exchange, Message, Request, Response

texts = st.text(max_size=16)
odd_texts = st.text(st.characters(codec=None, exclude_categories=()), max_size=8)
any_text = st.one_of(texts, odd_texts)
pairs = st.lists(st.tuples(any_text, any_text), max_size=4).map(tuple)
encodings = st.sampled_from([None, "gzip", "deflate", "br", "zstd"])
finite = st.floats(allow_nan=False, allow_infinity=False)
versions = st.sampled_from(["HTTP/1.1", "HTTP/2.0", "http/2.0", "HTTP/1.0"])
bodies = st.one_of(st.binary(max_size=48), texts.map(str.encode))
hosts = st.one_of(st.text("abcXYZ019.-", max_size=12), st.sampled_from(["::1", "fe80::1"]))
messages = st.builds(
    Message,
    direction=st.sampled_from(["client", "server"]),
    content=bodies,
    is_text=st.booleans(),
    timestamp=finite,
)
exchanges = st.builds(
    Exchange,
    request=st.builds(
        Request,
        method=st.text("GETPOSTpatch-", min_size=1, max_size=7),
        path=st.builds(lambda p: "/" + p.replace("?", ""), any_text),
        query=pairs,
        headers=pairs,
        body=bodies,
        scheme=st.sampled_from(["http", "https", "ws", "wss"]),
        host=hosts,
        port=st.integers(0, 65535),
        http_version=versions,
        encoding=encodings,
    ),
    response=st.none()
    | st.builds(
        Response,
        status=st.integers(100, 599),
        headers=pairs,
        body=bodies,
        reason=any_text,
        http_version=versions,
        encoding=encodings,
    ),
    started_at=finite,
    duration_ms=st.none() | finite,
    session=any_text,
    error=st.none() | any_text,
    kind=st.sampled_from(["http", "websocket", "sse"]),
    messages=st.lists(messages, max_size=3).map(tuple),
)
