#!/usr/bin/env python3
"""Helpers of bench/run: parse wrk output, time sequential calls, summarize captures, write RESULTS.md.

Standard library only. Every subcommand prints JSON or TSV on stdout; errors go to stderr with exit code 1.
"""

import argparse
import http.client
import json
import os
import re
import statistics
import sys
import time
import urllib.parse

# ---------------------------------------------------------------------------------------------------------------
# small formatting helpers


def fmt_ms(ms):
    if ms is None:
        return "n/a"
    if ms >= 10_000:
        return f"{ms / 1000:.1f} s"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 10:
        return f"{ms:.0f} ms"
    return f"{ms:.2f} ms"


def fmt_bytes(n):
    if n is None:
        return "n/a"
    n = float(n)
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.0f} B"


def fmt_mb(n):
    return "n/a" if n is None else f"{n / 1e6:.1f} MB"


def median(values):
    return statistics.median(values) if values else None


# ---------------------------------------------------------------------------------------------------------------
# wrk


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def parse_wrk_time(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"not a wrk time: {text!r}")
    return float(match.group(1)) * UNITS_MS[match.group(2)]


def cmd_wrk(args):
    text = open(args.file, encoding="utf-8", errors="replace").read()
    result = {}
    match = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not match:
        print(f"no Requests/sec in {args.file}", file=sys.stderr)
        return 1
    result["rps"] = float(match.group(1))
    match = re.search(r"(\d+) requests in ([\d.]+\w+),", text)
    result["requests"] = int(match.group(1)) if match else None
    for pct in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)\s*$", text, re.M)
        result[f"p{pct}Ms"] = parse_wrk_time(match.group(1)) if match else None
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    result["non2xx"] = int(match.group(1)) if match else 0
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    result["socketErrors"] = sum(int(g) for g in match.groups()) if match else 0
    print(json.dumps(result))
    return 0


# ---------------------------------------------------------------------------------------------------------------
# sequential /debug/memory calls: latency of one client, allocation per call


def cmd_seqmem(args):
    base = urllib.parse.urlsplit(args.base)
    conn = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
    headers = {"X-Api-Key": args.key}

    def get(path, with_key):
        conn.request("GET", path, headers=headers if with_key else {})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}: {body[:200]!r}")
        return body

    def allocated():
        return json.loads(get("/debug/memory", True))["memoryUsage"]["totalAllocatedBytes"]

    for _ in range(args.warmup):
        allocated()

    # 1. N consecutive /debug/memory calls: per-call latency and the counter's step between calls.
    latencies, counters = [], []
    for _ in range(args.n):
        t0 = time.perf_counter()
        counters.append(allocated())
        latencies.append((time.perf_counter() - t0) * 1000)
    deltas = [b - a for a, b in zip(counters, counters[1:])]
    per_call = (counters[-1] - counters[0]) / (len(counters) - 1)

    # 2. Interleaved: /debug/memory, then H × /hello, repeated; the extra step over (1) is H /hello requests.
    hello_counters = []
    for _ in range(args.rounds):
        hello_counters.append(allocated())
        for _ in range(args.hellos):
            get(args.hello_path, False)
    hello_counters.append(allocated())
    step = (hello_counters[-1] - hello_counters[0]) / (len(hello_counters) - 1)
    per_hello = (step - per_call) / args.hellos

    latencies.sort()
    print(json.dumps({
        "calls": args.n,
        "allocPerCallBytes": per_call,
        "allocDeltaMedianBytes": median(deltas),
        "allocDeltaMinBytes": min(deltas),
        "allocDeltaMaxBytes": max(deltas),
        "latencyP50Ms": latencies[len(latencies) // 2],
        "latencyP99Ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "helloRounds": args.rounds,
        "hellosPerRound": args.hellos,
        "allocPerHelloBytes": per_hello,
    }))
    return 0


# ---------------------------------------------------------------------------------------------------------------
# row 1: summary of the capture runs


def read_tsv(path):
    with open(path, encoding="utf-8") as handle:
        lines = [line.rstrip("\n").split("\t") for line in handle if line.strip()]
    header, rows = lines[0], lines[1:]
    return [dict(zip(header, row)) for row in rows]


def num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def row(section, figure, value, target, status):
    for text in (figure, value, target, status):
        assert "\t" not in text and "\n" not in text
    print("\t".join((section, figure, value, target, status)))


def cmd_capture_summary(args):
    runs = read_tsv(args.runs)
    modes = {"heapdiag": "HeapDiag POST /debug/heapdump?type=heap", "createdump": "createdump --withheap (direct)",
             "ipc": "runtime dump over diagnostic IPC from outside (DumpClient)"}
    good = {mode: [r for r in runs if r["mode"] == mode and r["ok"] == "1"] for mode in modes}
    bad = [r for r in runs if r["ok"] != "1"]
    summary = {}
    for mode, label in modes.items():
        ok = good[mode]
        if not ok:
            errors = "; ".join(r["error"] for r in runs if r["mode"] == mode) or "no run"
            row("1", f"{label}: capture time", f"error: {errors}", "", "error")
            continue
        walls = [num(r["wall_ms"]) for r in ok]
        summary[mode] = {
            "minMs": min(walls),
            "medianMs": median(walls),
            "walls": walls,
            "size": median([num(r["size_bytes"]) for r in ok]),
            "rssIncrease": max(num(r["hwm_kb"]) - num(r["rss_base_kb"]) for r in ok) * 1024,
            "rssIncreaseSampled": max(num(r["sampled_max_kb"]) - num(r["sampled_base_kb"]) for r in ok) * 1024,
            "stalls": [num(r["stall_ms"]) for r in ok],
            "internal": [num(r["internal_ms"]) for r in ok if num(r["internal_ms"]) is not None],
        }

    hd, cd = summary.get("heapdiag"), summary.get("createdump")
    ratio = hd["minMs"] / cd["minMs"] if hd and cd else None
    ratio_median = hd["medianMs"] / cd["medianMs"] if hd and cd else None

    def runs_text(values):
        return ", ".join(fmt_ms(v) for v in values)

    if hd:
        row("1", "HeapDiag capture time (POST /debug/heapdump?type=heap, client wall clock)",
            f"{fmt_ms(hd['minMs'])} min, {fmt_ms(hd['medianMs'])} median (runs: {runs_text(hd['walls'])})",
            "≤ 1.10 × createdump", "met" if ratio is not None and ratio <= 1.10 else ("missed" if ratio is not None else "error"))
    if cd:
        row("1", "createdump --withheap run directly on the same process",
            f"{fmt_ms(cd['minMs'])} min, {fmt_ms(cd['medianMs'])} median (runs: {runs_text(cd['walls'])})", "reference", "reported")
    if ratio is not None:
        row("1", "Capture time ratio HeapDiag / createdump (min / min)",
            f"{ratio:.2f}× (median / median {ratio_median:.2f}×)", "≤ 1.10×", "met" if ratio <= 1.10 else "missed")
    ipc = summary.get("ipc")
    if ipc:
        row("1", "Same dump requested from outside over the runtime's diagnostic IPC (bench/DumpClient; its wall time includes starting a .NET console)",
            f"{fmt_ms(ipc['minMs'])} min, {fmt_ms(ipc['medianMs'])} median (runs: {runs_text(ipc['walls'])})", "", "reported")
    inside = []
    for mode, label in (("heapdiag", "HeapDiag"), ("ipc", "IPC from outside"), ("createdump", "direct")):
        if summary.get(mode) and summary[mode]["internal"]:
            inside.append(f"{label} {fmt_ms(median(summary[mode]['internal']))}")
    if inside:
        row("1", "Time inside createdump itself (its own \"written in N ms\", median)", "; ".join(inside), "", "reported")
    if hd:
        row("1", "Target RSS increase, repeat HeapDiag captures (VmHWM − VmRSS before; worst measured round)",
            f"{fmt_mb(hd['rssIncrease'])} (50 ms VmRSS sampling: {fmt_mb(hd['rssIncreaseSampled'])})",
            "≤ 50 MB", "met" if hd["rssIncrease"] <= 50e6 else "missed")
    if cd:
        row("1", "Target RSS increase, repeat createdump captures (same measure)",
            f"{fmt_mb(cd['rssIncrease'])} (50 ms VmRSS sampling: {fmt_mb(cd['rssIncreaseSampled'])})", "", "reported")
    if hd:
        row("1", "Longest /ping stall during HeapDiag capture (worst run)",
            f"{fmt_ms(max(hd['stalls']))} (runs: {runs_text(hd['stalls'])})", "", "reported")
    if cd:
        row("1", "Longest /ping stall during createdump (worst run)",
            f"{fmt_ms(max(cd['stalls']))} (runs: {runs_text(cd['stalls'])})", "", "reported")
    if hd:
        row("1", "Dump size, HeapDiag", fmt_bytes(hd["size"]), "", "reported")
    if cd:
        row("1", "Dump size, createdump", fmt_bytes(cd["size"]), "", "reported")
    for r in bad:
        row("1", f"{modes.get(r['mode'], r['mode'])}: round {r['round']} failed", f"error: {r['error']}", "", "error")

    first = {}
    if args.first and os.path.exists(args.first):
        for r in read_tsv(args.first):
            first[r["mode"]] = r
    for mode, label in (("heapdiag", "HeapDiag"), ("createdump", "createdump direct, on a second fresh target")):
        r = first.get(mode)
        if r is None:
            row("1", f"First capture in a fresh process ({label})", "error: not measured (see bench/out/)", "", "error")
            continue
        if r["ok"] != "1":
            row("1", f"First capture in a fresh process ({label})", f"error: {r['error']}", "", "error")
            continue
        increase = (num(r["hwm_kb"]) - num(r["rss_base_kb"])) * 1024
        sampled = (num(r["sampled_max_kb"]) - num(r["sampled_base_kb"])) * 1024
        row("1", f"Target RSS increase, first capture in the process's life ({label})",
            f"{fmt_mb(increase)} (50 ms sampling: {fmt_mb(sampled)}); capture took {fmt_ms(num(r['wall_ms']))}, longest /ping {fmt_ms(num(r['stall_ms']))}",
            "≤ 50 MB" if mode == "heapdiag" else "", ("met" if increase <= 50e6 else "missed") if mode == "heapdiag" else "reported")

    with open(args.summary, "w", encoding="utf-8") as handle:
        json.dump({"heapdiag": hd, "createdump": cd, "ratio": ratio}, handle, indent=2)
    return 0


# ---------------------------------------------------------------------------------------------------------------
# report: console table and RESULTS.md

SECTIONS = {
    "1": "Capture: HeapDiag vs createdump on a ~1 GB heap",
    "2": "Node v8.writeHeapSnapshot on 10 M objects",
    "3": "Analysis at scale: a service-shaped heap at 15 M and 60 M objects, beside the ClrMD walk and dotnet-dump",
    "4": "Monitor overhead on GET /hello",
    "5": "GET /debug/memory",
    "6": "The automatic leak report on a 1.5 GB heap",
    "7": "The store: zstd in the bucket and on the wire, digests",
    "8": "Damaged dumps: the digest check before analysis and download",
    "9": "The memory map, the monitor tick with it, and the runtime report",
    "10": "Allocation sites: sampling the app over EventPipe",
}


def cmd_report(args):
    rows = []
    if os.path.exists(args.rows):
        with open(args.rows, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    parts = line.rstrip("\n").split("\t")
                    rows.append((parts + [""] * 5)[:5])
    notes = {}
    if os.path.exists(args.notes):
        with open(args.notes, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    section, _, text = line.rstrip("\n").partition("\t")
                    notes.setdefault(section, []).append(text)
    facts = json.load(open(args.facts, encoding="utf-8"))

    # Console.
    headers = ("#", "figure", "value", "target", "met/missed")
    table = [headers] + [tuple(r) for r in rows]
    widths = [min(max(len(r[i]) for r in table), limit) for i, limit in enumerate((2, 70, 70, 22, 45))]

    def clip(text, width):
        return text if len(text) <= width else text[: width - 1] + "…"

    print()
    for i, r in enumerate(table):
        print("  ".join(clip(c, w).ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()

    # Markdown.
    esc = lambda text: text.replace("|", "\\|")  # noqa: E731
    out = []
    out.append("# HeapDiag benchmark results")
    out.append("")
    out.append(f"Written by `bench/run` on {facts['date']}; the whole run took {facts['duration']}. "
               f"Every figure below comes from that one run, on this machine, measured side by side. "
               f"Source: commit `{facts['commit']}`{facts['dirty']}.")
    load_text = facts["machine"].get("CPU used by other processes during each section (cores, of the machine's total)", "")
    busy = [float(x) for x in re.findall(r":\s*([\d.]+)", load_text)]
    if busy and max(busy) > 0.25:
        out.append("")
        out.append(f"**Warning: the machine was not idle.** Processes other than this benchmark used up to {max(busy):.2f} of its "
                   f"{facts['machine']['CPUs (nproc)']} cores during a section (per section: {load_text}); every figure below "
                   "moved with that load, timings and throughput most. Compare figures within a section, not with another run.")
    out.append("")
    out.append("## Machine")
    out.append("")
    out.append("| fact | value |")
    out.append("|---|---|")
    for key, value in facts["machine"].items():
        out.append(f"| {esc(key)} | {esc(str(value))} |")
    out.append("")
    out.append("## Results")
    out.append("")
    out.append("| # | figure | value | target | met/missed |")
    out.append("|---|---|---|---|---|")
    for r in rows:
        out.append("| " + " | ".join(esc(c) if c else "—" for c in r) + " |")
    out.append("")
    out.append("Status words: **met** / **missed** against the target; **reported** = a figure without a target; "
               "**error**, **timed out**, **skipped**, **not measured** = no figure.")
    out.append("")
    for section, title in SECTIONS.items():
        out.append(f"## {section}. {title}")
        out.append("")
        for text in notes.get(section, ["(no notes)"]):
            out.append(text)
            out.append("")
    out.append("## Settings of this run")
    out.append("")
    for key, value in facts["settings"].items():
        out.append(f"- `{key}` = `{value}`")
    out.append("")
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write("\n".join(out))
    return 0


# ---------------------------------------------------------------------------------------------------------------
# rows of sections 2, 4 and 5


def cmd_node_rows(args):
    data = json.load(open(args.result, encoding="utf-8"))
    capture = json.load(open(args.capture, encoding="utf-8")) if args.capture and os.path.exists(args.capture) else {}
    heapdiag = (capture or {}).get("heapdiag") or {}
    objects = f"{data['objects'] / 1e6:g} M objects"
    row("2", f"Node v8.writeHeapSnapshot time ({objects})", fmt_ms(data["snapshotMs"]), "", "reported")
    peak = data["peakRssBytes"]
    reset = "VmHWM, reset just before the snapshot" if data.get("peakReset") else "VmHWM of the whole process"
    row("2", "Node peak RSS during the snapshot", f"{fmt_bytes(peak)} ({reset}; {fmt_bytes(data['rssBeforeBytes'])} before)", "", "reported")
    row("2", "Node heap snapshot file size", fmt_bytes(data["sizeBytes"]), "", "reported")
    if heapdiag.get("minMs"):
        row("2", "Node snapshot time / HeapDiag capture time (row 1, min)",
            f"{data['snapshotMs'] / heapdiag['minMs']:.1f}×", "", "reported")
    else:
        row("2", "Node snapshot time / HeapDiag capture time (row 1, min)", "n/a: row 1 has no HeapDiag capture time", "", "error")
    return 0


def cmd_monitor_rows(args):
    runs = read_tsv(args.runs)
    off = [r for r in runs if r["mode"] == "off"]
    on = [r for r in runs if r["mode"] == "on"]
    if not off or not on:
        row("4", "Monitor overhead", "error: missing runs (see bench/out/wrk-monitor-*.txt)", "", "error")
        return 0

    def rps(rs):
        return [num(r["rps"]) for r in rs]

    def p99(rs):
        return [num(r["p99_ms"]) for r in rs]

    off_rps, on_rps = statistics.mean(rps(off)), statistics.mean(rps(on))
    ratio = on_rps / off_rps
    runs_text = lambda values: ", ".join(f"{v:,.0f}" for v in values)  # noqa: E731
    ms_text = lambda values: ", ".join(fmt_ms(v) for v in values)  # noqa: E731
    row("4", "GET /hello requests/s, monitor off (mean)", f"{off_rps:,.0f} (runs: {runs_text(rps(off))})", "", "reported")
    row("4", "GET /hello requests/s, monitor on, 1 s interval (mean)", f"{on_rps:,.0f} (runs: {runs_text(rps(on))})", "", "reported")
    # Run-to-run noise of identical configurations: when it exceeds the 1% the target allows, the ratio cannot
    # tell a 1% difference, and saying met or missed would be a guess.
    spreads = [(max(v) - min(v)) / statistics.mean(v) for v in (rps(off), rps(on)) if len(v) > 1]
    spread = max(spreads) if spreads else None
    spread_text = f"; run-to-run spread of the same configuration up to {spread * 100:.1f}%" if spread is not None else ""
    status = "met" if ratio >= 0.99 else "missed"
    if spread is not None and spread > 0.01:
        status = f"inconclusive ({status} on the means; noise > 1%)"
    row("4", "Throughput ratio on / off", f"{ratio:.3f}{spread_text}", "≥ 0.99", status)
    row("4", "GET /hello p99, monitor off", f"{fmt_ms(statistics.mean(p99(off)))} mean (runs: {ms_text(p99(off))})", "", "reported")
    row("4", "GET /hello p99, monitor on", f"{fmt_ms(statistics.mean(p99(on)))} mean (runs: {ms_text(p99(on))})", "", "reported")
    errors = sum(int(r["errors"]) for r in runs)
    if errors:
        row("4", "wrk errors (non-2xx or socket) over all monitor runs", str(errors), "0", "missed")
    return 0


def cmd_memory_rows(args):
    wrk = json.load(open(args.wrk, encoding="utf-8")) if os.path.exists(args.wrk) else None
    seq = json.load(open(args.seq, encoding="utf-8")) if os.path.exists(args.seq) else None
    if wrk:
        bad = wrk["non2xx"] + wrk["socketErrors"]
        if bad:
            row("5", "GET /debug/memory under wrk", f"error: {bad} non-2xx/socket errors of {wrk['requests']}", "0", "error")
        row("5", "GET /debug/memory p50, 16 concurrent clients (wrk -c16)", fmt_ms(wrk["p50Ms"]), "", "reported")
        row("5", "GET /debug/memory p99, 16 concurrent clients (wrk -c16)", fmt_ms(wrk["p99Ms"]), "< 5 ms",
            "met" if wrk["p99Ms"] is not None and wrk["p99Ms"] < 5 and not bad else "missed")
        row("5", "GET /debug/memory throughput at 16 clients", f"{wrk['rps']:,.0f} requests/s", "", "reported")
    else:
        row("5", "GET /debug/memory under wrk", "error: no wrk result", "", "error")
    if seq:
        row("5", "GET /debug/memory p50 / p99, one sequential client",
            f"{fmt_ms(seq['latencyP50Ms'])} / {fmt_ms(seq['latencyP99Ms'])} ({seq['calls']} calls)", "", "reported")
        row("5", "Bytes allocated per GET /debug/memory request (whole request, see notes)",
            f"{seq['allocPerCallBytes']:,.0f} B mean (median step {seq['allocDeltaMedianBytes']:,.0f} B)", "", "reported")
        row("5", "Bytes allocated per GET /hello request (for comparison, see notes)",
            f"{seq['allocPerHelloBytes']:,.0f} B", "", "reported")
    else:
        row("5", "Allocation per GET /debug/memory call", "error: no result of the sequential calls", "", "error")
    return 0


def cmd_json_get(args):
    data = json.load(open(args.file, encoding="utf-8"))
    for key in args.path.split("."):
        data = data[int(key)] if isinstance(data, list) else data[key]
    print(data if not isinstance(data, (dict, list)) else json.dumps(data))
    return 0


def cmd_report_timeline(args):
    """Times of the automatic report's steps, from an app log written with "HH:mm:ss.fff " timestamps."""
    stamp = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) ")
    now = None
    seen = {}
    facts = {}
    for line in open(args.log, encoding="utf-8", errors="replace"):
        m = stamp.match(line)
        if m:
            h, mi, sec, ms = (int(x) for x in m.groups())
            now = h * 3600 + mi * 60 + sec + ms / 1000
        if now is None:
            continue
        for key, text in (("crossing", "Memory threshold crossed"), ("starting", "starting: trigger auto"), ("written", " written: "),
                          ("analyzer", "Analyzer started"), ("exited", " exited with code "), ("report", "Leak report for automatic dump")):
            if text in line and key not in seen:
                seen[key] = now
                if key == "starting":
                    facts["gcHeapMb"] = round(int(re.search(r"GC heap (\d+) bytes", line).group(1)) / 1048576)
                if key == "written":
                    facts["dumpMb"] = round(int(re.search(r"written: (\d+) bytes", line).group(1)) / 1048576)
                if key == "report":
                    facts["headline"] = line.split("): ", 1)[-1].strip()
    span = lambda a, b: round(seen[b] - seen[a], 1) if a in seen and b in seen else None  # noqa: E731
    facts.update(crossingToReportSeconds=span("crossing", "report"), dumpSeconds=span("starting", "written"), analysisSeconds=span("analyzer", "exited"))
    print(json.dumps(facts))
    return 0


# ---------------------------------------------------------------------------------------------------------------
# machine facts


def sh(*command):
    import subprocess
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        return (done.stdout + done.stderr).strip()
    except (OSError, subprocess.SubprocessError) as ex:
        return f"n/a ({ex})"


def cmd_facts(args):
    meminfo = open("/proc/meminfo", encoding="utf-8").read()
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    cpuinfo = open("/proc/cpuinfo", encoding="utf-8").read()
    model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
    os_release = open("/etc/os-release", encoding="utf-8").read()
    pretty = re.search(r'PRETTY_NAME="([^"]*)"', os_release)
    df = sh("df", "-hT", args.disk).splitlines()
    runtimes = [line.split(" [")[0] for line in sh("dotnet", "--list-runtimes").splitlines()]
    commit = sh("git", "-C", args.root, "rev-parse", "--short", "HEAD")
    changed = [line for line in sh("git", "-C", args.root, "status", "--porcelain", "--", "src").splitlines() if line.strip()]
    settings = dict(item.split("=", 1) for item in args.setting)
    facts = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "duration": args.duration,
        "commit": commit,
        "dirty": f" plus {len(changed)} uncommitted change(s) under src/ (the working tree was built as it was)" if changed else "",
        "machine": {
            "CPUs (nproc)": os.cpu_count(),
            "CPU model": model.group(1).strip() if model else "n/a",
            "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
            "OS": pretty.group(1) if pretty else "n/a",
            "kernel": sh("uname", "-r"),
            "dotnet SDK": sh("dotnet", "--version"),
            "dotnet runtimes": ", ".join(runtimes),
            "node": sh("node", "--version"),
            "wrk": sh("wrk", "-v").splitlines()[0] if sh("wrk", "-v") else "n/a",
            f"disk ({args.disk})": " ".join(df[-1].split()) if len(df) > 1 else "n/a",
            "disk columns": " ".join(df[0].split()) if df else "n/a",
            "CPU used by other processes during each section (cores, of the machine's total)": args.load or "n/a",
        },
        "settings": settings,
    }
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(facts, handle, indent=2)
    return 0


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("wrk")
    p.add_argument("file")
    p.set_defaults(func=cmd_wrk)
    p = sub.add_parser("seqmem")
    p.add_argument("--base", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--hellos", type=int, default=10)
    p.add_argument("--hello-path", default="/hello")
    p.set_defaults(func=cmd_seqmem)
    p = sub.add_parser("capture-summary")
    p.add_argument("runs")
    p.add_argument("summary")
    p.add_argument("--first")
    p.set_defaults(func=cmd_capture_summary)
    p = sub.add_parser("report")
    p.add_argument("--rows", required=True)
    p.add_argument("--notes", required=True)
    p.add_argument("--facts", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("node-rows")
    p.add_argument("result")
    p.add_argument("--capture")
    p.set_defaults(func=cmd_node_rows)
    p = sub.add_parser("monitor-rows")
    p.add_argument("runs")
    p.set_defaults(func=cmd_monitor_rows)
    p = sub.add_parser("memory-rows")
    p.add_argument("--wrk", required=True)
    p.add_argument("--seq", required=True)
    p.set_defaults(func=cmd_memory_rows)
    p = sub.add_parser("report-timeline")
    p.add_argument("log")
    p.set_defaults(func=cmd_report_timeline)
    p = sub.add_parser("json-get")
    p.add_argument("file")
    p.add_argument("path")
    p.set_defaults(func=cmd_json_get)
    p = sub.add_parser("facts")
    p.add_argument("--out", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--disk", default="/tmp")
    p.add_argument("--duration", required=True)
    p.add_argument("--setting", action="append", default=[])
    p.add_argument("--load", default="")
    p.set_defaults(func=cmd_facts)
    args = parser.parse_args()
    try:
        return args.func(args)
    except Exception as ex:  # noqa: BLE001 - report any failure as one line
        print(f"{args.cmd}: {type(ex).__name__}: {ex}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
