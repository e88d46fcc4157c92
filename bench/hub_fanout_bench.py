"""Hub fan-out: server CPU per delivered message, publish-to-client latency and idle memory per connection.

One server process (the hub engine on uvicorn with the hub's /ws protocol, or a naive FastAPI WebSocket send
loop as the baseline, measured in the same run), separate load processes holding the subscriber sockets, and a
probe process whose few sockets time every publication. The server publishes 200-byte signals at a fixed rate
from its own loop (the in-memory publisher: no database), and reports its own CPU time.

    .venv/bin/python bench/hub_fanout_bench.py                       # 10,000 subscribers, 20,000 idle
    .venv/bin/python bench/hub_fanout_bench.py --subscribers 500 --idle 1000 --seconds 3   # smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

HERE = os.path.dirname(os.path.abspath(__file__))
PER_LOAD_PROCESS = 9_900  # the container's hard limit on open files is 20,000 per process
PROBES = 20
CHANNEL = "bench"
HANDSHAKE = (
    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def user_seconds() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_utime


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def masked_text(data: bytes) -> bytes:
    """A client frame (clients must mask); the zero mask keeps the load process cheap."""
    assert len(data) < 126
    return bytes([0x81, 0x80 | len(data)]) + b"\x00\x00\x00\x00" + data


# --- server ----------------------------------------------------------------------------------------------


def serve(impl: str, port: int) -> None:
    import uvicorn

    from fintrack.hub import protocol as wire
    from fintrack.hub.broker import Publication
    from fintrack.hub.server import Hub
    from fintrack.hub.ws import Principal, protocol_for
    from fintrack.ops.metrics import REGISTRY

    raise_fd_limit()
    app = FastAPI()
    hub = Hub()
    clients: set[WebSocket] = set()
    seq = 0
    principal = Principal(1, frozenset({"hub:subscribe"}))

    async def anyone(token: str) -> Principal:
        return principal

    @app.websocket("/ws")
    async def naive(ws: WebSocket) -> None:
        await ws.accept()
        clients.add(ws)
        try:
            while True:
                await ws.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            clients.discard(ws)

    def count() -> int:
        return hub.presence(CHANNEL) if impl == "hub" else len(clients)

    @app.get("/bench/state")
    async def state() -> dict[str, Any]:
        import gc

        gc.collect()
        return {"subscribers": count(), "rss": rss_bytes()}

    @app.post("/bench/run")
    async def run(rate: float, seconds: float) -> dict[str, Any]:
        nonlocal seq
        loop = asyncio.get_running_loop()
        n = max(1, int(rate * seconds))
        delivered_before = REGISTRY.get_sample_value("hub_deliveries_total") or 0.0
        buckets_before = write_buckets()
        naive_deliveries = 0
        cpu0, user0, t0 = cpu_seconds(), user_seconds(), loop.time()
        for i in range(n):
            delay = t0 + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            seq += 1
            pad = "x" * (200 - 35)  # with the timestamp: a 200-byte payload
            pub = Publication(CHANNEL, seq, 1, None, datetime.now(UTC), None, {"t": time.time(), "pad": pad})
            if impl == "hub":
                hub.deliver([pub])
            else:
                text = wire.pub(pub).decode()  # encoded once here too: the naive part is the per-socket send
                for ws in list(clients):
                    try:
                        await ws.send_text(text)
                        naive_deliveries += 1
                    except Exception:  # noqa: S112 (a socket closing mid-run)
                        continue
        publishing = loop.time() - t0
        await asyncio.sleep(0.5)  # let buffered writes reach the sockets inside the measured window
        cpu, user = cpu_seconds() - cpu0, user_seconds() - user0
        delivered = (REGISTRY.get_sample_value("hub_deliveries_total") or 0.0) - delivered_before
        written = {le: n - buckets_before[le] for le, n in write_buckets().items()}
        return {
            "publications": n,
            "deliveries": delivered if impl == "hub" else naive_deliveries,
            "cpu_seconds": cpu,
            "user_seconds": user,
            "publishing_seconds": publishing,
            "slow_disconnects": REGISTRY.get_sample_value("hub_slow_consumer_disconnects_total") or 0.0,
            # The server's own view (hub only): from a publication's ingest to the end of its write to every socket.
            "server_write_p99_le_ms": quantile_bound(written, 0.99),
        }

    ws_impl: Any = protocol_for(hub, anyone, ping_interval=3600) if impl == "hub" else "auto"
    uvicorn.run(app, host="127.0.0.1", port=port, ws=ws_impl, log_level="warning", backlog=4096)


LATENCY_BOUNDS = ("0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "+Inf")


def write_buckets() -> dict[str, float]:
    from fintrack.ops.metrics import REGISTRY

    sample = REGISTRY.get_sample_value
    return {le: sample("hub_delivery_latency_seconds_bucket", {"le": le}) or 0.0 for le in LATENCY_BOUNDS}


def quantile_bound(cumulative: dict[str, float], q: float) -> float | None:
    """The histogram bucket bound (ms) under which a fraction q of the observations fall."""
    total = cumulative["+Inf"]
    if not total:
        return None
    for le in LATENCY_BOUNDS:
        if cumulative[le] >= q * total:
            return float("inf") if le == "+Inf" else float(le) * 1000
    return None


# --- load and probe --------------------------------------------------------------------------------------


class Subscriber(asyncio.Protocol):
    def __init__(self, impl: str, probe: bool, latencies: list[float]) -> None:
        self.impl, self.probe, self.latencies = impl, probe, latencies
        self.upgraded = False
        self.buffer = bytearray()
        self.received = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if not self.probe:
            # Room for a whole measured run in the kernel: a paused load socket must never push back on the server.
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        # One token per socket, as 10,000 separate clients have (one token's sockets share a message budget).
        path = f"/ws?token=bench-{id(self)}" if self.impl == "hub" else "/ws"
        self.transport.write(HANDSHAKE.format(path=path).encode())

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        if not self.upgraded:
            self.buffer += data
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self.upgraded = True
            rest = bytes(self.buffer[end + 4 :])
            self.buffer.clear()
            if self.impl == "hub":
                assert self.transport is not None
                self.transport.write(masked_text(json.dumps({"type": "subscribe", "channel": CHANNEL}).encode()))
            data = rest
        if self.probe:
            self.buffer += data
            self._frames()

    def _frames(self) -> None:
        buf, now = self.buffer, time.time()
        while len(buf) >= 2:
            n, pos = buf[1] & 0x7F, 2
            if n == 126:
                n, pos = int.from_bytes(buf[2:4], "big"), 4
            if len(buf) < pos + n:
                return
            msg = json.loads(bytes(buf[pos : pos + n])) if buf[0] & 0x0F == 1 else {}
            del buf[: pos + n]
            if msg.get("type") == "pub":
                self.latencies.append(now - msg["payload"]["t"])


async def hold(impl: str, port: int, count: int, source_ip: str, probe: bool) -> None:
    """Open `count` subscriber sockets, say READY, and report when told (stdin: `report` or `quit`)."""
    raise_fd_limit()
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    subscribers: list[Subscriber] = []

    async def one() -> None:
        sub = Subscriber(impl, probe, latencies)
        for _ in range(5):
            try:
                await loop.create_connection(lambda: sub, "127.0.0.1", port, local_addr=(source_ip, 0))
                subscribers.append(sub)
                return
            except OSError:
                await asyncio.sleep(0.2)

    for start in range(0, count, 250):
        await asyncio.gather(*(one() for _ in range(min(250, count - start))))
    print(json.dumps({"ready": len(subscribers)}), flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().strip():
        if line == "reset":
            latencies.clear()
            print(json.dumps({"reset": True}), flush=True)
        elif line in ("pause", "resume"):
            # Paused, the load sockets read nothing and this process takes no CPU: the kernel keeps what arrives,
            # as it would for clients on other machines, and the probes and the server have the cores.
            for sub in subscribers:
                if sub.transport is not None:
                    (sub.transport.pause_reading if line == "pause" else sub.transport.resume_reading)()
            print(json.dumps({line: True}), flush=True)
        elif line == "report":
            print(json.dumps({"latencies": latencies, "bytes": sum(s.received for s in subscribers)}), flush=True)
        else:
            break
    for sub in subscribers:
        if sub.transport is not None:
            sub.transport.abort()


# --- orchestration ---------------------------------------------------------------------------------------


@dataclass
class Process:
    popen: subprocess.Popen[str]

    def send(self, line: str) -> dict[str, Any]:
        assert self.popen.stdin is not None and self.popen.stdout is not None
        self.popen.stdin.write(line + "\n")
        self.popen.stdin.flush()
        return json.loads(self.popen.stdout.readline())

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                assert self.popen.stdin is not None
                self.popen.stdin.write("quit\n")
                self.popen.stdin.flush()
                self.popen.wait(timeout=20)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.popen.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=HERE
    )


class Server:
    def __init__(self, impl: str) -> None:
        self.impl, self.port = impl, free_port()
        self.popen = start("--role", "server", "--impl", impl, "--port", str(self.port))
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=600)
        for _ in range(300):
            try:
                self.state()
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"{impl} server did not start")

    def state(self) -> dict[str, Any]:
        return self.http.get("/bench/state").json()

    def wait_for(self, subscribers: int) -> None:
        for _ in range(600):
            if self.state()["subscribers"] >= subscribers:
                return
            time.sleep(0.1)
        raise RuntimeError(f"only {self.state()['subscribers']} of {subscribers} subscribed")

    def stop(self) -> None:
        self.popen.terminate()
        self.popen.wait(timeout=30)


_ip = 2


def holders(impl: str, port: int, count: int, probe: bool = False) -> list[Process]:
    """Load processes for `count` sockets, each from its own 127.0.0.x so ephemeral ports never run out."""
    global _ip
    out = []
    for start_at in range(0, count, PER_LOAD_PROCESS):
        n = min(PER_LOAD_PROCESS, count - start_at)
        _ip += 1
        args = ["--role", "load", "--impl", impl, "--port", str(port), "--count", str(n), "--ip", f"127.0.0.{_ip}"]
        out.append(Process(start(*args, *(["--probe"] if probe else []))))
    opened = 0
    for p in out:
        assert p.popen.stdout is not None
        opened += json.loads(p.popen.stdout.readline())["ready"]
    if opened < count:
        print(f"  warning: only {opened} of {count} sockets opened", file=sys.stderr)
    return out


def fan_out(impl: str, subscribers: int, rate: float, seconds: float, buffered: bool) -> dict[str, Any]:
    server = Server(impl)
    # The hub writes in subscription order: probes in the middle time an average subscriber, not the first or last.
    first_half = (subscribers - PROBES) // 2
    load = holders(impl, server.port, first_half)
    probe = holders(impl, server.port, PROBES, probe=True)[0]
    load += holders(impl, server.port, subscribers - PROBES - first_half)
    try:
        server.wait_for(subscribers)
        server.http.post("/bench/run", params={"rate": rate, "seconds": 0.4})  # warm-up
        time.sleep(0.5)
        probe.send("reset")
        if buffered:
            for p in load:
                p.send("pause")
        run = server.http.post("/bench/run", params={"rate": rate, "seconds": seconds}).json()
        time.sleep(1.0)
        latencies = sorted(probe.send("report")["latencies"])
        if buffered:
            for p in load:
                p.send("resume")
    finally:
        for p in [*load, probe]:
            p.stop()
        server.stop()
    expected = run["publications"] * PROBES
    return {
        **run,
        "cpu_us_per_delivery": 1e6 * run["cpu_seconds"] / max(1, run["deliveries"]),
        "achieved_rate": run["publications"] / run["publishing_seconds"],
        "p50_ms": 1e3 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1e3 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
        "probe_received": f"{len(latencies)}/{expected}",
    }


def idle(impl: str, connections: int) -> dict[str, Any]:
    server = Server(impl)
    try:
        time.sleep(1.0)
        before = server.state()["rss"]
        load = holders(impl, server.port, connections)
        server.wait_for(connections)
        time.sleep(2.0)
        after = server.state()["rss"]
        for p in load:
            p.stop()
    finally:
        server.stop()
    return {"connections": connections, "bytes_per_connection": (after - before) / connections}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", default="main", choices=["main", "server", "load"])
    parser.add_argument("--impl", default="hub", choices=["hub", "naive"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--ip", default="127.0.0.2")
    parser.add_argument("--probe", action="store_true")
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument(
        "--idle", type=int, default=19_800, help="idle connections (20,000 is above this box's fd limit)"
    )
    parser.add_argument("--rate", type=float, default=50.0, help="publications per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="publishing time for the hub")
    parser.add_argument("--baseline-seconds", type=float, default=2.0, help="publishing time for the naive loop")
    parser.add_argument(
        "--load",
        default="buffered",
        choices=["buffered", "reading"],
        help="buffered: the load sockets stop reading during the run (the kernel holds what arrives), so the two "
        "cores go to the server and the probes, as with remote clients; reading: they read on this machine too",
    )
    args = parser.parse_args()
    if args.role == "server":
        sys.path.insert(0, os.path.join(HERE, "..", "src"))
        serve(args.impl, args.port)
        return
    if args.role == "load":
        import uvloop

        uvloop.run(hold(args.impl, args.port, args.count, args.ip, args.probe))
        return
    raise_fd_limit()
    print(f"hub fan-out, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, fd limit "
          f"{resource.getrlimit(resource.RLIMIT_NOFILE)[1]}, load sockets {args.load}")  # fmt: skip
    results = {}
    for impl, seconds in (("hub", args.seconds), ("naive", args.baseline_seconds)):
        results[impl] = fan_out(impl, args.subscribers, args.rate, seconds, args.load == "buffered")
        print(f"{impl:>5} fan-out to {args.subscribers}: {json.dumps(results[impl])}", flush=True)
    memory = {impl: idle(impl, args.idle) for impl in ("hub", "naive")}
    for impl, m in memory.items():
        print(f"{impl:>5} idle: {m['connections']} connections, {m['bytes_per_connection'] / 1024:.1f} KiB each")
    hub, naive = results["hub"], results["naive"]
    print()
    print("| | hub | naive FastAPI send loop | ratio |")
    print("| --- | --- | --- | --- |")
    ratio = naive["cpu_us_per_delivery"] / hub["cpu_us_per_delivery"]
    print(f"| server CPU per delivered message | {hub['cpu_us_per_delivery']:.2f} µs | "
          f"{naive['cpu_us_per_delivery']:.2f} µs | {ratio:.1f}× |")  # fmt: skip
    print(f"| publications/s achieved (asked {args.rate:g}) | {hub['achieved_rate']:.1f} | "
          f"{naive['achieved_rate']:.1f} | |")  # fmt: skip
    print(f"| publish→client p50 / p99 | {hub['p50_ms']:.1f} / {hub['p99_ms']:.1f} ms | "
          f"{naive['p50_ms']:.1f} / {naive['p99_ms']:.1f} ms | |")  # fmt: skip
    print(f"| server: publish → written to the last socket, p99 under | {hub['server_write_p99_le_ms']} ms | | |")
    print(f"| idle memory per connection ({args.idle}) | {memory['hub']['bytes_per_connection'] / 1024:.1f} KiB | "
          f"{memory['naive']['bytes_per_connection'] / 1024:.1f} KiB | "
          f"{memory['naive']['bytes_per_connection'] / memory['hub']['bytes_per_connection']:.1f}× |")  # fmt: skip


if __name__ == "__main__":
    main()
