#!/usr/bin/env python3
"""A backfill three ways: one server-side update_many, our batch helper, a pymongo update_one loop.

Each way sets `f: 1` on every document of an N-document collection `items` (`{_id: i, n: i}`,
default N = 200,000) of a freshly started SecantusDB:

    update_many      `migrate up` of an app whose single migration runs
                     `items.update_many({}, {$set: {f: 1}})`: the floor, one command;
    batch::backfill  `migrate up` of an app whose single migration runs
                     `batch::backfill(&items, doc!{}).batch_size(BENCH_BATCH).resumable()
                     .update_each(|_| Some(doc!{"$set": {"f": 1}}))`: one find and one fenced
                     bulkWrite (the batch plus its checkpoint) per batch;
    update_one loop  a python process, pymongo: `for d in items.find(): items.update_one(
                     {_id: d._id}, {$set: {f: 1}})`, the style of a hand-written seed script.

All three are separate processes, so each time includes process start-up and connecting. The
documents are seeded with insert_many before the measurement; the serverStatus opcounters
baseline is read after seeding. After every run the script checks that all N documents have
`f: 1` (and, for ours, that the migration is recorded as applied) and stops otherwise.

It reuses bench/peers.py: the throwaway `bench-cell` server, the way steps are timed and counted,
the framework snapshot (BENCH_REV), the app crate for either crate layout (crates/mongodb-migrate,
or the older crates/mongo-migrate) and the shared release target dir `target/bench-peers`.

    scripts/dev-db install && .dev/venv/bin/python bench/backfill.py     # or: make bench-backfill

Environment: BENCH_DOCS (default 200000), BENCH_REPS (default 1), BENCH_BATCH (default 1000),
BENCH_LOOP_BUDGET (seconds the loop may run, default 600: it stops there, and the table shows
how far it got), BENCH_REV, CARGO. See bench/README.md. Output: a markdown table on stdout and in
.dev/bench/backfill.md, raw samples in .dev/bench/backfill.json.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import peers
import provenance
from peers import OUT, ROOT, TARGET_DIR, BenchError, Sample, Server, Tool, fmt_cmds, fmt_ms, write_if_changed

COLLECTION = "items"
SEED_CHUNK = 10_000
UPDATE_MANY = "update_many"
BACKFILL = "batch::backfill"
LOOP = "update_one loop"
METHODS = (UPDATE_MANY, BACKFILL, LOOP)
STEP = "backfill"  # the one step each Tool runs

# The loop a seed script would write; argv[1] is the URI, database included. It stops once it
# has run argv[2] seconds (BENCH_LOOP_BUDGET): on this server it slows as it writes, and 200,000
# documents would take hours. The table then shows how far it got, and its rate.
PY_LOOP = """\
import sys, time
from pymongo import MongoClient

client = MongoClient(sys.argv[1])
deadline = time.monotonic() + float(sys.argv[2])
items = client.get_default_database()["items"]
for doc in items.find():
    items.update_one({"_id": doc["_id"]}, {"$set": {"f": 1}})
    if time.monotonic() >= deadline:
        break
client.close()
"""


def say(msg: str) -> None:
    print(f"bench-backfill: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The two app crates, one migration each
# ---------------------------------------------------------------------------------------------

UPDATE_MANY_MIGRATION = """\
//! Set f to 1 on every item with one server-side update_many.
use mongo_migrate::prelude::*;

pub const NAME: &str = "0001_set_f_update_many";
pub const DEPENDENCIES: &[&str] = &[];

pub async fn upgrade(db: &Database) -> Result<()> {
    db.collection::<Document>("items")
        .update_many(doc! {}, doc! { "$set": { "f": 1 } })
        .await?;
    Ok(())
}

pub async fn downgrade(db: &Database) -> Result<()> {
    db.collection::<Document>("items")
        .update_many(doc! { "f": 1 }, doc! { "$unset": { "f": "" } })
        .await?;
    Ok(())
}
"""

BACKFILL_MIGRATION = """\
//! Set f to 1 on every item with the batch helper: BENCH_BATCH documents a batch (default 1000).
use mongo_migrate::batch;
use mongo_migrate::prelude::*;

pub const NAME: &str = "0001_set_f_backfill";
pub const DEPENDENCIES: &[&str] = &[];

fn batch_size() -> usize {
    std::env::var("BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

pub async fn upgrade(db: &Database) -> Result<()> {
    let items = db.collection::<Document>("items");
    batch::backfill(&items, doc! {})
        .batch_size(batch_size())
        .resumable()
        .update_each(|_| Some(doc! { "$set": { "f": 1 } }))
        .await?;
    Ok(())
}

pub async fn downgrade(db: &Database) -> Result<()> {
    db.collection::<Document>("items")
        .update_many(doc! { "f": 1 }, doc! { "$unset": { "f": "" } })
        .await?;
    Ok(())
}
"""


def generate_and_build(slug: str, migration_name: str, migration: str) -> Path:
    """An app crate like peers.py's (and the repo root), with one migration, built in release."""
    root = OUT / f"backfill-{slug}"
    package = f"bench-backfill-{slug}"
    fw = peers.FRAMEWORK
    # Cargo.toml (for either crate layout of the framework), build.rs and src/, as in peers.py.
    peers.write_app_crate(root, package)
    migrations = root / "migrations"
    write_if_changed(migrations / f"{migration_name}.rs", migration)
    for stale in migrations.glob("*.rs"):
        if stale.stem != migration_name:
            stale.unlink()
    shutil.copyfile(fw.dir / "Cargo.lock", root / "Cargo.lock")
    say(f"cargo build --release of {package} (CARGO_TARGET_DIR={TARGET_DIR.relative_to(ROOT)})")
    env = {**os.environ, "CARGO_TARGET_DIR": str(TARGET_DIR)}
    proc = subprocess.run([os.environ.get("CARGO", "cargo"), "build", "--release"], cwd=root, env=env)
    if proc.returncode != 0:
        raise BenchError(f"cargo build --release of {root} failed (exit {proc.returncode})")
    exe = TARGET_DIR / "release" / package
    if not exe.is_file():
        raise BenchError(f"cargo build succeeded but {exe} is missing")
    return exe


# ---------------------------------------------------------------------------------------------
# One cell: a fresh server, N seeded documents, one backfill, timed, counted and checked
# ---------------------------------------------------------------------------------------------


def seed(server: Server, n: int) -> None:
    items = server.client[peers.DATABASE][COLLECTION]
    for lo in range(0, n, SEED_CHUNK):
        items.insert_many([{"_id": i, "n": i} for i in range(lo, min(n, lo + SEED_CHUNK))])
    if (count := items.count_documents({})) != n:
        raise BenchError(f"seeding left {count} documents in {COLLECTION}, expected {n}")


def verify(server: Server, method: str, n: int) -> int:
    """All N documents have f: 1, and ours recorded its migration: a run that did less fails.
    Only the loop may stop early (its time budget); returns how many documents it did."""
    db = server.client[peers.DATABASE]
    total = db[COLLECTION].count_documents({})
    done = db[COLLECTION].count_documents({"f": 1})
    if method == LOOP and total == n and 0 < done <= n:
        return done
    if (total, done) != (n, n):
        raise BenchError(f"after {method}: {done} of {total} documents have f: 1, expected {n} of {n}")
    if method != LOOP:
        applied = db.pymongo_migrate.count_documents({"applied": {"$ne": None}})
        if applied != 1:
            raise BenchError(f"after {method}: {applied} migrations recorded as applied, expected 1")
    return n


def run_cell(tool: Tool, n: int) -> tuple[Sample, int]:
    server = Server()
    try:
        server.start()
        start = time.perf_counter()
        seed(server, n)
        say(f"  seeded {n:,} documents in {fmt_ms(time.perf_counter() - start)}; running {tool.name}")
        # run_step reads the opcounters baseline right before the process starts: after seeding.
        sample = peers.run_step(server, tool, STEP)
        return sample, verify(server, tool.name, n)
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def fmt_ratio(x: float) -> str:
    return f"{x:,.2f}×" if x < 100 else f"{x:,.0f}×"


def table(samples: dict[str, list[Sample]], done: dict[str, list[int]], n: int, batch: int) -> str:
    how = {
        UPDATE_MANY: "`migrate up`: one `update_many({}, {$set: {f: 1}})`",
        BACKFILL: f"`migrate up`: `batch::backfill`, batch size {batch:,}, resumable",
        LOOP: "python + pymongo: `update_one` per document over a `find()` cursor",
    }
    base_time = statistics.median(s.seconds for s in samples[UPDATE_MANY])
    base_cmds = statistics.median(s.commands for s in samples[UPDATE_MANY])
    lines = [
        "| method | how | time | cmds | docs/s | time vs update_many | cmds vs update_many |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for method in METHODS:
        t = statistics.median(s.seconds for s in samples[method])
        k = statistics.median(done[method])
        if k < n:
            # Stopped by its budget: the rate it reached, and N at that rate (a lower bound:
            # the server slows as it takes writes).
            rate = k / t
            lines.append(
                f"| {method} | {how[method]} | stopped after {fmt_ms(t)} at {k:,.0f} of {n:,} "
                f"documents; {fmt_ms(n / rate)} or more for all | "
                f"{fmt_cmds([s.commands for s in samples[method]])} | {rate:,.0f} | "
                f"{fmt_ratio(n / rate / base_time)} or more | — |"
            )
            continue
        cmds = [s.commands for s in samples[method]]
        time_text = fmt_ms(t)
        if len(samples[method]) > 1:
            lo, hi = min(s.seconds for s in samples[method]), max(s.seconds for s in samples[method])
            time_text += f" ({fmt_ms(lo)}–{fmt_ms(hi)})"
        extra = statistics.median(cmds) - base_cmds
        lines.append(
            f"| {method} | {how[method]} | {time_text} | {fmt_cmds(cmds)} | {n / t:,.0f} | "
            f"{fmt_ratio(t / base_time)} | {'+' if extra >= 0 else '−'}{abs(extra):,.0f} |"
        )
    return "\n".join(lines)


NOTES = """\
- **time**: wall time of the whole process (start-up, connecting, and for ours the lock and the
  state), median over the repetitions with the range when there are several. The documents were
  seeded before it; **docs/s** is N / time.
- **cmds**: server commands the process caused (sum of the `serverStatus` opcounters: insert,
  query, update, delete, getmore, command, minus what reading them costs; a `bulkWrite` counts
  once, handshakes and the drivers' monitoring `hello`s count).
- **vs update_many**: time ÷ the `update_many` run's time, and commands beyond its commands.
"""


def report(samples: dict[str, list[Sample]], done: dict[str, list[int]], n: int, reps: int, batch: int) -> str:
    secantus = importlib.metadata.version("secantusdb")
    return "\n".join([
        f"Measured {datetime.date.today().isoformat()} on {provenance.machine()}; N = {n:,} documents; "
        f"median of {reps} repetition{'s' if reps != 1 else ''}.",
        "",
        f"commit: {provenance.commit()}.",
        "",
        f"ours: {peers.FRAMEWORK.runtime_package}, {peers.FRAMEWORK.label}, release build; "
        f"python {platform.python_version()}, pymongo {importlib.metadata.version('pymongo')}; "
        f"server: SecantusDB {secantus}, a fresh one per cell.",
        "",
        table(samples, done, n, batch),
        "",
        NOTES,
    ])


# ---------------------------------------------------------------------------------------------


def parse_env() -> tuple[int, int, int, float]:
    try:
        n = int(os.environ.get("BENCH_DOCS", "200000"))
        reps = int(os.environ.get("BENCH_REPS", "1"))
        batch = int(os.environ.get("BENCH_BATCH", "1000"))
        budget = float(os.environ.get("BENCH_LOOP_BUDGET", "600"))
    except ValueError as e:
        raise BenchError(f"BENCH_DOCS, BENCH_REPS, BENCH_BATCH and BENCH_LOOP_BUDGET must be numbers: {e}")
    if n < 1 or reps < 1 or batch < 1 or budget <= 0:
        raise BenchError("BENCH_DOCS, BENCH_REPS, BENCH_BATCH and BENCH_LOOP_BUDGET must be positive")
    return n, reps, batch, budget


def main() -> None:
    n, reps, batch, budget = parse_env()
    cargo = os.environ.get("CARGO", "cargo")
    if shutil.which(cargo) is None:
        raise BenchError(f"`{cargo}` is not on PATH")
    print(provenance.header(), flush=True)
    peers.FRAMEWORK = peers.framework()
    OUT.mkdir(parents=True, exist_ok=True)
    update_many = generate_and_build("update-many", "0001_set_f_update_many", UPDATE_MANY_MIGRATION)
    backfill = generate_and_build("batch", "0001_set_f_backfill", BACKFILL_MIGRATION)

    env = {**peers.clean_env(), "BENCH_BATCH": str(batch)}
    # Our CLI reads MONGO_URI from a .env in its working directory: an empty one has none.
    cwd = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    tools = [
        Tool(UPDATE_MANY, cwd, env, {STEP: [str(update_many), "--uri", "{uri}", "up"]}),
        Tool(BACKFILL, cwd, env, {STEP: [str(backfill), "--uri", "{uri}", "up"]}),
        Tool(LOOP, cwd, env, {STEP: [sys.executable, "-c", PY_LOOP, "{uri}", str(budget)]}),
    ]
    samples: dict[str, list[Sample]] = {m: [] for m in METHODS}
    done_counts: dict[str, list[int]] = {m: [] for m in METHODS}
    try:
        done = 0
        # Repetition outermost, as in peers.py: a burst of load spreads over the methods.
        for rep in range(1, reps + 1):
            for tool in tools:
                done += 1
                sample, k = run_cell(tool, n)
                samples[tool.name].append(sample)
                done_counts[tool.name].append(k)
                say(f"[{done}/{reps * len(tools)}] rep {rep} N={n:,} {tool.name}: "
                    f"{fmt_ms(sample.seconds)}, {sample.commands:,} commands, {k:,} documents")
    finally:
        shutil.rmtree(cwd, ignore_errors=True)

    text = report(samples, done_counts, n, reps, batch)
    (OUT / "backfill.md").write_text(text)
    raw = {"docs": n, "batch": batch, "loop_budget_s": budget, "done": done_counts,
           "samples": {m: [s.__dict__ for s in ss] for m, ss in samples.items()}}
    (OUT / "backfill.json").write_text(json.dumps(raw, indent=1) + "\n")
    print(text)
    say(f"written to {(OUT / 'backfill.md').relative_to(ROOT)} (raw samples: backfill.json)")


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
