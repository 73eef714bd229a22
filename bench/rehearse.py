#!/usr/bin/env python3
"""Field Notes' plan rehearsed on a generated database: `migrate rehearse` against its peers.

The database (generated here, seeded before any clock starts): BENCH_USERS users (default
10,000), BENCH_STORIES stories (default 100,000; a third without an author, none filed in a
section) and 60 pages, with the indexes an app would have. Each cell runs on a freshly started
SecantusDB (`bench-cell`, as bench/peers.py), since the server slows down as it takes writes:

    pymongo copy     a python process copying the same collections with pymongo, the simplest
                     peer approach: `find()` → `insert_many` in batches of 1,000, then the
                     indexes (`list_indexes` → `create_indexes`);
    ours copy        `migrate rehearse --to 0001_create_admin_user`: the same copy (options,
                     documents, indexes, validators), then one trivial migration; the copy's own
                     time is in its report. The two copies alternate BENCH_REPS times (default
                     2) and the table shows medians;
    rehearse         `migrate rehearse --yes --format json` of Field Notes' release binary: the
                     copy, then each of the four migrations up, re-run, down and up again, each
                     compared with a snapshot;
    rehearse 10%     the same with `--sample 10%`, whose projections the last table sets against
                     the durations measured by `up`;
    up               `migrate up --format json` on the same data: what the deploy itself costs.

Copy times are the copies' own (the rehearsal's `copy.duration_ms`, the python loop's around its
loop): connecting and process start-up are left out of both. Run times are whole processes.
Peak RSS is each process's `ru_maxrss` (os.wait4). Every run is checked: the copy holds every
document, the rehearsal's verdict is `exact`, `up` applies the four migrations.

    scripts/dev-db install && .dev/venv/bin/python bench/rehearse.py     # or: make bench-rehearse

Environment: BENCH_STORIES, BENCH_USERS, BENCH_REPS, CARGO. Output: the tables on stdout and in
.dev/bench/rehearse.md, the raw results in .dev/bench/rehearse.json.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import peers
import provenance
from peers import OUT, ROOT, BenchError, Server, write_if_changed

ADMIN_EMAIL = "admin@bench.test"
SEED_CHUNK = 10_000
PAGES = 60
MIGRATIONS = 4

# The peer: argv[1] the source URI (database included), argv[2] the target database. Prints
# {"documents", "seconds"} on stdout: the time of the copy alone, as the rehearsal reports its own.
PY_COPY = """\
import json, sys, time
from pymongo import MongoClient

client = MongoClient(sys.argv[1])
source = client.get_default_database()
target = client[sys.argv[2]]
names = sorted(source.list_collection_names())
start = time.perf_counter()
documents = 0
for name in names:
    batch = []
    for doc in source[name].find():
        batch.append(doc)
        if len(batch) == 1000:
            target[name].insert_many(batch)
            documents += len(batch)
            batch = []
    if batch:
        target[name].insert_many(batch)
        documents += len(batch)
    indexes = [i for i in source[name].list_indexes() if i["name"] != "_id_"]
    if indexes:
        from pymongo import IndexModel
        target[name].create_indexes([
            IndexModel(list(i["key"].items()), **{k: v for k, v in i.items() if k not in ("key", "v", "ns")})
            for i in indexes
        ])
print(json.dumps({"documents": documents, "seconds": time.perf_counter() - start}))
"""


def say(msg: str) -> None:
    print(f"bench-rehearse: {msg}", file=sys.stderr, flush=True)


@dataclass
class Run:
    """One process: wall time, peak RSS, exit code, stdout."""

    seconds: float
    rss_kb: int
    code: int
    stdout: str
    stderr: str = field(repr=False)


def run_measured(argv: list[str], env: dict[str, str]) -> Run:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=tempfile.gettempdir())
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(seconds, usage.ru_maxrss, proc.returncode, out.read().decode(), err.read().decode())


# ---------------------------------------------------------------------------------------------
# The database
# ---------------------------------------------------------------------------------------------


def seed(server: Server, users: int, stories: int) -> dict[str, int]:
    from bson import ObjectId
    from pymongo import ASCENDING, DESCENDING, IndexModel

    rng = random.Random(20261204)
    db = server.client[peers.DATABASE]
    epoch = datetime.datetime(2024, 1, 1)
    user_ids = [ObjectId() for _ in range(users)]
    for lo in range(0, users, SEED_CHUNK):
        db.users.insert_many([
            {"_id": user_ids[i], "email": f"writer{i}@field-notes.test", "name": f"Writer {i}",
             "role": "author", "created_at": epoch + datetime.timedelta(minutes=i)}
            for i in range(lo, min(users, lo + SEED_CHUNK))
        ])
    words = ["field", "notes", "river", "stone", "light", "winter", "harbour", "garden", "north", "salt"]
    for lo in range(0, stories, SEED_CHUNK):
        chunk = []
        for i in range(lo, min(stories, lo + SEED_CHUNK)):
            story = {
                "_id": ObjectId(),
                "title": " ".join(rng.choice(words) for _ in range(5)).capitalize(),
                "body": " ".join(rng.choice(words) for _ in range(45)),
                "tags": rng.sample(words, 3),
                "created_at": epoch + datetime.timedelta(minutes=7 * i),
            }
            if i % 3:
                story["user_id"] = user_ids[i % users]
            chunk.append(story)
        db.stories.insert_many(chunk)
    slugs = ["about", "contact", "projects"] + [f"press-{i}" for i in range(PAGES - 3)]
    db.pages.insert_many([{"_id": f"p-{s}", "slug": s, "title": s.replace("-", " ").title()} for s in slugs])
    db.users.create_indexes([IndexModel([("email", ASCENDING)], unique=True)])
    db.stories.create_indexes([IndexModel([("user_id", ASCENDING)]), IndexModel([("created_at", DESCENDING)])])
    counts = {name: db[name].count_documents({}) for name in ("pages", "stories", "users")}
    if counts != {"pages": PAGES, "stories": stories, "users": users}:
        raise BenchError(f"seeding left {counts}")
    return counts


def in_cell(users: int, stories: int, work):
    server = Server()
    try:
        server.start()
        say(f"seeding {users} users and {stories} stories")
        counts = seed(server, users, stories)
        return work(server, counts)
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# The cells
# ---------------------------------------------------------------------------------------------


def env() -> dict[str, str]:
    clean = peers.clean_env()
    clean["ADMIN_EMAIL"] = ADMIN_EMAIL
    clean["NO_COLOR"] = "1"
    return clean


def pymongo_copy(server: Server, counts: dict[str, int]) -> dict:
    run = run_measured([sys.executable, "-c", PY_COPY, server.uri, "copy"], env())
    if run.code != 0:
        raise BenchError(f"the pymongo copy failed ({run.code}):\n{run.stderr}")
    result = json.loads(run.stdout)
    copied = {n: server.client["copy"][n].count_documents({}) for n in counts}
    if copied != counts:
        raise BenchError(f"the pymongo copy holds {copied}, the source {counts}")
    return {"documents": result["documents"], "seconds": result["seconds"], "rss_kb": run.rss_kb,
            "wall": run.seconds}


def rehearse(exe: Path, extra: list[str], migrations: int = MIGRATIONS):
    def cell(server: Server, counts: dict[str, int]) -> dict:
        run = run_measured([str(exe), "--uri", server.uri, "rehearse", "--yes", "--format", "json", *extra], env())
        if run.code != 0:
            raise BenchError(f"migrate rehearse exited {run.code}:\n{run.stdout}\n{run.stderr[-3000:]}")
        report = json.loads(run.stdout)
        if report["verdict"] != "exact" or len(report["migrations"]) != migrations:
            raise BenchError(f"the rehearsal's verdict is {report['verdict']} over {len(report['migrations'])} migrations")
        if "--sample" not in extra and report["copy"]["documents"] != sum(counts.values()):
            raise BenchError(f"the rehearsal copied {report['copy']['documents']} documents of {sum(counts.values())}")
        return {"seconds": run.seconds, "rss_kb": run.rss_kb, "report": report}
    return cell


def ours_copy(exe: Path):
    rehearsal = rehearse(exe, ["--to", "0001_create_admin_user"], migrations=1)

    def cell(server: Server, counts: dict[str, int]) -> dict:
        result = rehearsal(server, counts)
        copy = result["report"]["copy"]
        return {"documents": copy["documents"], "seconds": copy["duration_ms"] / 1000,
                "rss_kb": result["rss_kb"], "wall": result["seconds"]}
    return cell


def up(exe: Path):
    def cell(server: Server, counts: dict[str, int]) -> dict:
        run = run_measured([str(exe), "--uri", server.uri, "up", "--format", "json"], env())
        if run.code != 0:
            raise BenchError(f"migrate up exited {run.code}:\n{run.stdout}\n{run.stderr[-3000:]}")
        steps = {}
        for line in run.stdout.splitlines():
            event = json.loads(line)
            if event.get("event") == "finish":
                steps[event["migration"]] = event["duration_ms"]
        applied = server.client[peers.DATABASE].pymongo_migrate.count_documents({"applied": {"$ne": None}})
        if applied != MIGRATIONS or len(steps) != MIGRATIONS:
            raise BenchError(f"migrate up applied {applied} migrations ({steps})")
        return {"seconds": run.seconds, "rss_kb": run.rss_kb, "steps": steps}
    return cell


def build() -> Path:
    cargo = os.environ.get("CARGO", "cargo")
    say("cargo build --release --locked --bin migrate (Field Notes)")
    proc = subprocess.run([cargo, "build", "--release", "--locked", "--bin", "migrate"], cwd=ROOT)
    if proc.returncode != 0:
        raise BenchError(f"cargo build --release failed (exit {proc.returncode})")
    exe = ROOT / "target" / "release" / "migrate"
    if not exe.is_file():
        raise BenchError(f"{exe} is missing")
    return exe


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def mb(kb: int) -> str:
    return f"{kb / 1024:,.1f} MB"


def median_run(runs: list[dict]) -> dict:
    """The run of median copy time (the lower one of an even count), and every time."""
    ordered = sorted(runs, key=lambda c: c["seconds"])
    return {**ordered[(len(ordered) - 1) // 2], "all": [c["seconds"] for c in runs]}


def times(run: dict) -> str:
    return " / ".join(f"{s * 1000:,.0f}" for s in run["all"])


def tables(r: dict) -> str:
    copy_peer = median_run(r["pymongo copy"])
    copy_ours = median_run(r["ours copy"])
    full = r["rehearse"]
    sample = r["rehearse 10%"]
    up_run = r["up"]
    ours_s = copy_ours["seconds"]
    docs = copy_ours["documents"]
    lines = [
        f"Measured {datetime.date.today().isoformat()} on {provenance.machine()}; "
        f"commit: {provenance.commit(ROOT, ['Cargo.toml', 'Cargo.lock', 'crates', 'migrations', 'src'])}; "
        f"Field Notes' `migrate`, release build; python {platform.python_version()}, pymongo "
        f"{importlib.metadata.version('pymongo')}; SecantusDB {importlib.metadata.version('secantusdb')}, "
        "a fresh server per cell.",
        "",
        f"Data: {r['counts']['stories']:,} stories, {r['counts']['users']:,} users, {r['counts']['pages']} pages.",
        "",
        f"| copy of the same collections (median of {len(copy_peer['all'])}) | documents | time | each run (ms) | documents/s | peak RSS | vs pymongo |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| pymongo `find` → `insert_many` (1,000 a batch), then the indexes | {copy_peer['documents']:,} | "
        f"{ms(copy_peer['seconds'])} | {times(copy_peer)} | {copy_peer['documents'] / copy_peer['seconds']:,.0f} | "
        f"{mb(copy_peer['rss_kb'])} | 1.00× |",
        f"| `migrate rehearse`'s copy (options, documents in batches of 1,000, indexes, validators) | {docs:,} | "
        f"{ms(ours_s)} | {times(copy_ours)} | {docs / ours_s:,.0f} | {mb(copy_ours['rss_kb'])} (whole process) | "
        f"**{(docs / ours_s) / (copy_peer['documents'] / copy_peer['seconds']):.2f}×** |",
        "",
        "| run | what | time | peak RSS | vs `up` |",
        "|---|---|---:|---:|---:|",
        f"| `migrate up` | the four migrations, once | {ms(up_run['seconds'])} | {mb(up_run['rss_kb'])} | 1.00× |",
        f"| `migrate rehearse` | copy, then each migration up, re-run, down, up again, 4 comparisons | "
        f"{ms(full['seconds'])} | {mb(full['rss_kb'])} | {full['seconds'] / up_run['seconds']:.2f}× |",
        f"| `migrate rehearse --sample 10%` | the same on a tenth of each collection | "
        f"{ms(sample['seconds'])} | {mb(sample['rss_kb'])} | {sample['seconds'] / up_run['seconds']:.2f}× |",
        "",
        "| migration | `up` | rehearsal: up | re-run | down | up again | 10% sample: up | projected | projected / `up` |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    sampled = {m["name"]: m for m in sample["report"]["migrations"]}
    for m in full["report"]["migrations"]:
        name = m["name"]
        actual = up_run["steps"][name]
        s = sampled[name]["up"]
        projected = s["projected_ms"] if s["projected_ms"] is not None else s["duration_ms"]
        ratio = f"{projected / actual:.2f}" if actual else "-"
        lines.append(
            f"| {name} | {actual:,} ms | {m['up']['duration_ms']:,} ms | {m['rerun']['duration_ms']:,} ms | "
            f"{m['down']['duration_ms']:,} ms | {m['up_again']['duration_ms']:,} ms | {s['duration_ms']:,} ms | "
            f"{projected:,} ms | {ratio} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    print(provenance.header(), flush=True)
    stories = int(os.environ.get("BENCH_STORIES", "100000"))
    users = int(os.environ.get("BENCH_USERS", "10000"))
    exe = build()
    reps = int(os.environ.get("BENCH_REPS", "2"))
    results: dict = {"stories": stories, "users": users, "pymongo copy": [], "ours copy": []}
    cells = []
    for _ in range(reps):
        cells += [("pymongo copy", pymongo_copy), ("ours copy", ours_copy(exe))]
    cells += [
        ("rehearse", rehearse(exe, [])),
        ("rehearse 10%", rehearse(exe, ["--sample", "10%"])),
        ("up", up(exe)),
    ]
    for i, (name, work) in enumerate(cells, 1):
        say(f"[{i}/{len(cells)}] {name}")

        def keep_counts(server, counts, work=work):
            results["counts"] = counts
            return work(server, counts)

        result = in_cell(users, stories, keep_counts)
        if isinstance(results.get(name), list):
            results[name].append(result)
        else:
            results[name] = result
        say(f"[{i}/{len(cells)}] {name}: {result.get('seconds', 0):.1f} s")
    text = tables(results)
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    write_if_changed(OUT / "rehearse.md", text)
    (OUT / "rehearse.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, peers.on_sigterm)
    try:
        main()
    except BenchError as e:
        say(f"error: {e}")
        sys.exit(1)
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
