#!/usr/bin/env python3
"""Stream measurements for `make bench` that wrk cannot make (Python standard library only).

  streamprobe.py ttfb URL --key K --model M [--count N]
      N streaming requests one after another on one keep-alive connection; prints
      "count p50_us p99_us": the time from sending a request to reading its first `data:` line.

  streamprobe.py concurrent URL --key K --model M --streams N [--pid PID] [--timeout S]
      Opens N connections, then sends a streaming request on every one at once (Connection: close)
      and reads each stream to its end. Prints one line of name=value pairs: how many got their
      response head, how many within 1 s, the p50 and max time to head (µs), how many streams
      ended with data: [DONE], errors, and the peak VmRSS (kB) of process PID while they were open.
"""
import argparse
import asyncio
import socket
import sys
import time
from urllib.parse import urlsplit


def request_bytes(url, key, model, close=False):
    parts = urlsplit(url)
    body = ('{"model":"%s","messages":[{"role":"user","content":"Say hello in one short sentence."}],'
            '"stream":true}' % model).encode()
    head = (f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n" + ("Connection: close\r\n" if close else "") + "\r\n")
    return parts.hostname, parts.port or 80, head.encode() + body


class ResponseReader:
    """Reads one HTTP/1.1 response from a blocking socket: Content-Length or chunked."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed mid-response")
        self.buffer += data

    def _line(self):
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def read(self, on_body):
        """Reads the whole response; `on_body(bytes)` sees the body as it arrives. Returns the status."""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        if headers.get(b"transfer-encoding") == b"chunked":
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line() != b"":
                        pass
                    return status
                while len(self.buffer) < size + 2:
                    self._fill()
                on_body(self.buffer[:size])
                self.buffer = self.buffer[size + 2:]
        length = int(headers.get(b"content-length", b"0"))
        while len(self.buffer) < length:
            if self.buffer:
                on_body(self.buffer)
                length -= len(self.buffer)
                self.buffer = b""
            self._fill()
        on_body(self.buffer[:length])
        self.buffer = self.buffer[length:]
        return status


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ttfb(args):
    host, port, payload = request_bytes(args.url, args.key, args.model)
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = ResponseReader(sock)
    samples = []
    for index in range(args.warmup + args.count):
        first = [None]
        seen = [b""]
        start = time.perf_counter_ns()

        def on_body(chunk):
            if first[0] is None:
                seen[0] += chunk
                if b"data:" in seen[0]:
                    first[0] = time.perf_counter_ns()

        sock.sendall(payload)
        status = reader.read(on_body)
        if status != 200 or first[0] is None:
            sys.exit(f"ttfb: HTTP {status} from {args.url} (first data line: {first[0] is not None})")
        if index >= args.warmup:
            samples.append((first[0] - start) / 1000)
    print(f"{len(samples)} {percentile(samples, 0.5):.0f} {percentile(samples, 0.99):.0f}")


async def concurrent(args):
    host, port, payload = request_bytes(args.url, args.key, args.model, close=True)
    heads, done, errors = [], [0], []
    peak_rss = [0]
    go = asyncio.Event()

    async def one():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as error:
            errors.append(f"connect: {error}")
            return
        try:
            await go.wait()
            start = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            heads.append(time.perf_counter() - start)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(head.split(b"\r\n", 1)[0].decode(errors="replace"))
                return
            tail = b""
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                tail = (tail + data)[-64:]
            if b"[DONE]" in tail:
                done[0] += 1
        except (OSError, asyncio.IncompleteReadError) as error:
            errors.append(type(error).__name__)
        finally:
            writer.close()

    async def sample_rss():
        while True:
            try:
                with open(f"/proc/{args.pid}/status") as status:
                    for line in status:
                        if line.startswith("VmRSS:"):
                            peak_rss[0] = max(peak_rss[0], int(line.split()[1]))
            except OSError:
                return
            await asyncio.sleep(0.05)

    tasks = []
    for _ in range(args.streams):
        tasks.append(asyncio.create_task(one()))
        if len(tasks) % 100 == 0:
            await asyncio.sleep(0.01)  # let the connects go out in waves, under any listen backlog
    await asyncio.sleep(0.5)
    sampler = asyncio.create_task(sample_rss()) if args.pid else None
    go.set()
    _, pending = await asyncio.wait(tasks, timeout=args.timeout)
    for task in pending:
        task.cancel()
    if sampler:
        sampler.cancel()
    within = sum(1 for value in heads if value <= 1.0)
    p50 = percentile(heads, 0.5) * 1e6 if heads else 0
    worst = max(heads) * 1e6 if heads else 0
    kinds = sorted(set(errors))
    print(f"streams={args.streams} heads={len(heads)} within_1s={within} head_p50_us={p50:.0f} "
          f"head_max_us={worst:.0f} done={done[0]} unfinished={len(pending)} errors={len(errors)} "
          f"peak_rss_kb={peak_rss[0]}" + (f" first_errors={kinds[:3]}" if kinds else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("ttfb", "concurrent"):
        command = sub.add_parser(name)
        command.add_argument("url")
        command.add_argument("--key", default="bench")
        command.add_argument("--model", default="gpt-5-mini")
    sub.choices["ttfb"].add_argument("--count", type=int, default=2000)
    sub.choices["ttfb"].add_argument("--warmup", type=int, default=200)
    sub.choices["concurrent"].add_argument("--streams", type=int, default=2000)
    sub.choices["concurrent"].add_argument("--pid", type=int)
    sub.choices["concurrent"].add_argument("--timeout", type=float, default=20)
    args = parser.parse_args()
    if args.command == "ttfb":
        ttfb(args)
    else:
        asyncio.run(concurrent(args))


if __name__ == "__main__":
    main()
