"""The proxy `backworks capture` runs, without recording: the same mitmproxy addons, no Recorder.

Benchmarked beside capture, it shows what recording and redaction cost on their own.

    python3 bench/bare_proxy.py --upstream http://127.0.0.1:18080 --port 18081
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import tempfile

from mitmproxy.master import Master
from mitmproxy.options import Options

from backworks_cli.host.runner import proxy_addons


async def serve(upstream: str, port: int, confdir: str) -> None:
    master = Master(
        Options(mode=[f"reverse:{upstream}"], listen_host="127.0.0.1", listen_port=port)
    )
    master.addons.add(*proxy_addons())
    master.options.update(confdir=confdir, connection_strategy="lazy")
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, master.shutdown)
    loop.add_signal_handler(signal.SIGINT, master.shutdown)
    await master.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as confdir:
        asyncio.run(serve(args.upstream, args.port, confdir))


if __name__ == "__main__":
    main()
