#!/usr/bin/env python3
"""Medians of several relstore_latency --json runs, as a Markdown table.

bench/latency_report.py run1.json run2.json run3.json > bench/results/latency.md

Every figure is the median over the runs of that figure (each run's p99.99 is
its own percentile; the median of three is what the table shows), and the
targets of bench/latency_bench.cpp are judged on those medians. Standard
library only.
"""
import json
import statistics
import sys


def us(ns):
    return f"{ns / 1e3:.2f}" if ns < 10_000 else f"{ns / 1e3:,.0f}"


def main(paths):
    runs = [json.load(open(p)) for p in paths]
    by = {}
    for run in runs:
        for s in run["scenarios"]:
            by.setdefault((s["mode"], s["scenario"]), []).append(s)
    med = lambda xs: statistics.median(xs)
    ctx = runs[0]["context"]
    print(f"- runs: {len(runs)} ({', '.join(r['context']['date'] for r in runs)}); medians of the runs")
    print(f"- machine: {ctx['cores']} cores (std::thread::hardware_concurrency), shared; load averages at start: "
          + "; ".join(r["context"]["load_average"] for r in runs))
    print(f"- scale {ctx['scale']:g} ({ctx['rows']:,} rows), {ctx['seconds_per_scenario']:g} s per scenario, "
          f"writer/saver nice +{ctx.get('nice', 0)}, save child nice +{ctx.get('child_nice', 0)}"
          + (", reader on a relstore::reader_thread (store_options::reads_never_wait_for_fork)"
             if ctx.get("reader_thread") else ", reader on the main thread")
          + (", input rows dropped after the load" if ctx.get("drop_input") else "")
          + (", huge pages" if ctx.get("huge_pages") else ""))
    rss = {m: med([r["resident_bytes_after_load"][m] for r in runs]) for m in runs[0]["resident_bytes_after_load"]}
    print("- resident memory of the loaded store (RSS after load minus before): "
          + ", ".join(f"{m} {b / 2**20:,.0f} MB" for m, b in rss.items()))
    print()
    print("| mode | scenario | reads | read p50 µs | p99 µs | p99.99 µs | max µs | reads > 1 ms | reader blocked / preempted "
          "| commits | rows/commit | commit p50 µs | p99 µs | max µs | saves | save s |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    rows = {}
    for (mode, sc), xs in by.items():
        g = lambda f: med([f(x) for x in xs])
        r = {k: g(lambda x, k=k: x["reads"][k]) for k in ("count", "p50_ns", "p99_ns", "p9999_ns", "max_ns", "over_1ms")}
        c = {k: g(lambda x, k=k: x["commits"][k]) for k in ("count", "p50_ns", "p99_ns", "max_ns")}
        rows[(mode, sc)] = (r, c)
        w = c["count"] > 0
        saves = g(lambda x: x["saves"])
        print(f"| {mode} | {sc} | {r['count']:,.0f} | {us(r['p50_ns'])} | {us(r['p99_ns'])} | {us(r['p9999_ns'])} | "
              f"{us(r['max_ns'])} | {r['over_1ms']:,.0f} | {g(lambda x: x['reader_voluntary_cs']):,.0f} / "
              f"{g(lambda x: x['reader_involuntary_cs']):,.0f} | "
              + (f"{c['count']:,.0f} | {xs[0]['rows_per_commit']:,} | {us(c['p50_ns'])} | {us(c['p99_ns'])} | {us(c['max_ns'])}"
                 if w else "- | - | - | - | -")
              + (f" | {saves:g} | {g(lambda x: x['save_seconds_median']):.2f} |" if saves else " | - | - |"))
    print()
    print("| mode | target | measured (medians) | met |")
    print("|---|---|---|---|")
    modes = list(dict.fromkeys(m for m, _ in by))
    for m in modes:
        for sc in ("b", "c-fork", "c-thread"):
            if (m, sc) not in rows:
                continue
            r, _ = rows[(m, sc)]
            print(f"| {m} | {sc}: reader max ≤ 1 ms | {us(r['max_ns'])} µs | {'yes' if r['max_ns'] <= 1e6 else '**no**'} |")
            print(f"| {m} | {sc}: reader p99.99 ≤ 50 µs | {us(r['p9999_ns'])} µs | "
                  f"{'yes' if r['p9999_ns'] <= 50e3 else '**no**'} |")
        if (m, "b") in rows:
            _, idle = rows[(m, "b")]
            for sc in ("c-fork", "c-thread"):
                if (m, sc) not in rows:
                    continue
                _, c = rows[(m, sc)]
                p99 = c["p99_ns"] / max(1, idle["p99_ns"])
                mx = c["max_ns"] / max(1, idle["max_ns"])
                print(f"| {m} | {sc}: 1-row commit during saves ≤ 2x without (b), p99 and max | p99 {p99:.2f}x, "
                      f"max {mx:.2f}x ({us(c['max_ns'])} against {us(idle['max_ns'])} µs) | "
                      f"{'yes' if p99 <= 2 and mx <= 2 else '**no**'} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
