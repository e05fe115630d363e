#!/usr/bin/env python3
"""bench/run section 8: GET /debug/memory/map at one client (latency, the server's own time, allocation per call)
beside reading /proc/PID/smaps alone, on the same process. Prints one JSON object."""
import argparse
import http.client
import json
import time
import urllib.parse


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    url = urllib.parse.urlparse(args.base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    headers = {"X-Api-Key": args.key}

    def get(path):
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"{path}: HTTP {response.status}: {body[:200]!r}")
        return json.loads(body)

    def allocated():
        return get("/debug/memory")["memoryUsage"]["totalAllocatedBytes"]

    for _ in range(30):
        get("/debug/memory/map")
    latencies, server, mappings = [], [], 0
    before = allocated()
    for _ in range(args.n):
        started = time.perf_counter()
        answer = get("/debug/memory/map")
        latencies.append((time.perf_counter() - started) * 1000)
        server.append(answer["elapsedMilliseconds"])
        mappings = answer["mappings"]
    after = allocated()
    memory_call = allocated() - after
    reads = []
    for _ in range(args.n):
        started = time.perf_counter()
        with open(f"/proc/{args.pid}/smaps", "rb") as smaps:
            smaps.read()
        reads.append((time.perf_counter() - started) * 1000)
    print(json.dumps({
        "calls": args.n,
        "mappings": mappings,
        "p50Ms": round(percentile(latencies, 50), 2),
        "p99Ms": round(percentile(latencies, 99), 2),
        "serverP50Ms": round(percentile(server, 50), 2),
        "smapsP50Ms": round(percentile(reads, 50), 2),
        "bytesPerCall": round((after - before - memory_call) / args.n),
    }))


if __name__ == "__main__":
    main()
