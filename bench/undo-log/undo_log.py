#!/usr/bin/env python3
"""Where a downgrade's undo information lives: markers in the app's documents, or an undo log.

One migration sets `user_id` on every story that has none (absent or null) of an N-document
collection (default 100,000), and its downgrade reverts only the values still as it wrote them.
Three ways, each on a freshly started SecantusDB:

- plain: the update alone, no undo information (the floor; its downgrade cannot tell its own
  writes from the app's);
- markers: what `mongo_migrate::markers` does. The same `update_many` also sets
  `_migrated_by_<name>: {prior, wrote}`; the downgrade is two `update_many` whose filter compares
  the field with `wrote` (`$expr`), then one that removes the markers left on changed documents;
- undo log: the app's documents get the value only. Before the update, the matching `_id`s are
  streamed and a log entry per document is inserted, 1000 per `insert_many`, into
  `pymongo_migrate_undo`, keyed by `{m: migration, c: collection, id: _id}` with `{prior, wrote}`;
  the downgrade streams the migration's entries, reverts each document still holding `wrote`
  (one `UpdateOne({_id, user_id: wrote})` per entry, 1000 to a `bulkWrite`), then deletes the
  migration's entries with one `delete_many`.

For each: the wall time of up and down, the server commands they cause (serverStatus opcounters,
minus what reading them costs), the growth of the app collection (collStats size), the undo
collection's data and index size, and the documents written besides the app's values.

    .dev/venv/bin/python bench/undo-log/undo_log.py       # UNDO_BENCH_N=10000 for a quick run

It starts its servers as `scripts/dev-db start --name undo-bench --throwaway` on a free port,
refuses if one by that name already runs, and stops each one even when a step fails. The table is
printed and written to .dev/bench/undo-log.md (raw numbers: undo-log.json).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bson import ObjectId
from pymongo import MongoClient, UpdateOne

ROOT = Path(__file__).resolve().parents[2]
DEV_DB = ROOT / "scripts" / "dev-db"
OUT = ROOT / ".dev" / "bench"
SERVER_NAME = "undo-bench"
DATABASE = "undo_bench"
MIGRATION = "0002_add_user_id_to_content"
MARKER = f"_migrated_by_{MIGRATION}"
UNDO = "pymongo_migrate_undo"  # named after the state collection, like _details and _lock
BATCH = 1000
ADMIN = ObjectId("65a0000000000000000000ad")


class BenchError(Exception):
    """A failure that stops the benchmark: it is reported, never skipped."""


def say(msg: str) -> None:
    print(f"undo-bench: {msg}", file=sys.stderr, flush=True)


def run_checked(argv: list[str]) -> str:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(map(str, argv))} failed:\n{done.stderr}")
    return done.stdout


class Server:
    """A throwaway SecantusDB, plus a client that reads its command counters."""

    def __enter__(self) -> "Server":
        status = subprocess.run([DEV_DB, "status", "--name", SERVER_NAME], capture_output=True, text=True)
        if status.returncode == 0:
            raise BenchError(
                f"a '{SERVER_NAME}' server is already running ({status.stdout.strip()}); a used "
                f"server must not be measured: `scripts/dev-db stop --name {SERVER_NAME}`"
            )
        port = int(run_checked([DEV_DB, "free-port"]).strip())
        run_checked([DEV_DB, "start", "--name", SERVER_NAME, "--port", str(port), "--throwaway"])
        self.client = MongoClient(
            f"mongodb://127.0.0.1:{port}/",
            directConnection=True,
            heartbeatFrequencyMS=3_600_000,
            serverMonitoringMode="poll",
        )
        # What one serverStatus read adds to the next one's counters, to subtract it.
        reads = [self.counters() for _ in range(4)]
        self.status_cost = reads[-1] - reads[-2]
        return self

    def __exit__(self, *exc) -> None:
        self.client.close()
        run_checked([DEV_DB, "stop", "--name", SERVER_NAME])

    def counters(self) -> int:
        ops = self.client.admin.command("serverStatus")["opcounters"]
        return sum(int(ops[k]) for k in ("insert", "query", "update", "delete", "getmore", "command"))

    def measure(self, step) -> tuple[float, int, int]:
        """Runs `step`; returns (seconds, server commands, documents written besides the app's values)."""
        before = self.counters()
        start = time.perf_counter()
        extra = step()
        seconds = time.perf_counter() - start
        return seconds, self.counters() - before - self.status_cost, extra


def load(db, n: int) -> None:
    # 90% without user_id, 10% with an explicit null: both branches of set_if_missing.
    docs = [
        {"_id": i, "title": f"Story {i}", "body": "x" * 200, **({"user_id": None} if i % 10 == 0 else {})}
        for i in range(n)
    ]
    for i in range(0, n, 10_000):
        db.stories.insert_many(docs[i : i + 10_000], ordered=False)


MISSING = {"absent": {"$exists": False}, "null": {"$type": "null"}}


# --- plain ----------------------------------------------------------------------------------


def plain_up(db) -> int:
    for matches in MISSING.values():
        db.stories.update_many({"user_id": matches}, {"$set": {"user_id": ADMIN}})
    return 0


def plain_down(db) -> int:
    # Cannot know which documents were absent or null, nor which values are the app's.
    db.stories.update_many({"user_id": ADMIN}, {"$unset": {"user_id": ""}})
    return 0


# --- markers (mongo_migrate::markers) --------------------------------------------------------


def markers_up(db) -> int:
    for prior, matches in MISSING.items():
        db.stories.update_many(
            {"user_id": matches},
            {"$set": {"user_id": ADMIN, MARKER: {"prior": prior, "wrote": ADMIN}}},
        )
    return 0


def markers_down(db) -> int:
    unchanged = {
        "$and": [
            {"$eq": ["$user_id", f"${MARKER}.wrote"]},
            {"$eq": [{"$type": "$user_id"}, {"$type": f"${MARKER}.wrote"}]},
        ]
    }
    db.stories.update_many(
        {f"{MARKER}.prior": "absent", "$expr": unchanged}, {"$unset": {"user_id": "", MARKER: ""}}
    )
    db.stories.update_many(
        {f"{MARKER}.prior": "null", "$expr": unchanged}, {"$set": {"user_id": None}, "$unset": {MARKER: ""}}
    )
    db.stories.update_many({f"{MARKER}.prior": {"$exists": True}}, {"$unset": {MARKER: ""}})
    db.stories.count_documents({MARKER: {"$in": ["absent", "null"]}})
    return 0


# --- undo log --------------------------------------------------------------------------------


def undo_up(db) -> int:
    logged = 0
    for prior, matches in MISSING.items():
        # The log entries first: a crash after them leaves entries whose value was never
        # written, which the downgrade skips (the field does not hold `wrote`); the other order
        # would leave writes with no way back. Streamed a batch at a time: an aggregation
        # `$merge` into the log would be one command, but SecantusDB runs it in time quadratic
        # in the documents (1,000 take 17 s, 2,000 take 107 s).
        batch: list[dict] = []
        for doc in db.stories.find({"user_id": matches}, {"_id": 1}).batch_size(BATCH):
            batch.append({"_id": {"m": MIGRATION, "c": "stories", "id": doc["_id"]}, "prior": prior, "wrote": ADMIN})
            if len(batch) == BATCH:
                logged += len(db[UNDO].insert_many(batch, ordered=False).inserted_ids)
                batch = []
        if batch:
            logged += len(db[UNDO].insert_many(batch, ordered=False).inserted_ids)
        db.stories.update_many({"user_id": matches}, {"$set": {"user_id": ADMIN}})
    return logged


def undo_down(db) -> int:
    log = db[UNDO]
    mine = {"_id.m": MIGRATION, "_id.c": "stories"}

    def revert(entries: list[dict]) -> None:
        # One update per entry, 1000 to a `bulkWrite`: each entry carries its own `wrote`.
        ops = [
            UpdateOne(
                {"_id": e["_id"]["id"], "user_id": e["wrote"]},
                {"$unset": {"user_id": ""}} if e["prior"] == "absent" else {"$set": {"user_id": None}},
            )
            for e in entries
        ]
        db.stories.bulk_write(ops, ordered=False)

    batch: list[dict] = []
    for entry in log.find(mine).batch_size(BATCH):
        batch.append(entry)
        if len(batch) == BATCH:
            revert(batch)
            batch = []
    if batch:
        revert(batch)
    # One `delete_many` at the end: deleting entries by their (sub-document) `_id`s costs
    # SecantusDB 27 ms each.
    return log.delete_many(mine).deleted_count


# --------------------------------------------------------------------------------------------

VARIANTS = {
    "plain (no undo information)": (plain_up, plain_down),
    "markers in the documents": (markers_up, markers_down),
    "undo log outside them": (undo_up, undo_down),
}


@dataclass
class Result:
    variant: str
    up_s: float
    down_s: float
    up_cmds: int
    down_cmds: int
    app_growth_bytes: int
    undo_data_bytes: int
    undo_index_bytes: int
    extra_docs_written: int
    restored: bool


def size(db, name: str) -> tuple[int, int]:
    if name not in db.list_collection_names():
        return 0, 0
    stats = db.command("collStats", name)
    return int(stats.get("size", 0)), int(stats.get("totalIndexSize", 0))


def run_variant(name: str, n: int) -> Result:
    up, down = VARIANTS[name]
    with Server() as server:
        db = server.client[DATABASE]
        say(f"{name}: loading {n} stories")
        load(db, n)
        loaded, _ = size(db, "stories")
        say(f"{name}: up")
        up_s, up_cmds, logged = server.measure(lambda: up(db))
        if db.stories.count_documents({"user_id": ADMIN}) != n:
            raise BenchError(f"{name}: up did not set user_id on all {n} stories")
        grown, _ = size(db, "stories")
        undo_data, undo_index = size(db, UNDO)
        say(f"{name}: down")
        down_s, down_cmds, deleted = server.measure(lambda: down(db))
        restored = (
            db.stories.count_documents({"user_id": {"$exists": False}}) == n - n // 10
            and db.stories.count_documents({"user_id": None}) == n
            and db.stories.count_documents({MARKER: {"$exists": True}}) == 0
        )
        return Result(
            variant=name,
            up_s=up_s,
            down_s=down_s,
            up_cmds=up_cmds,
            down_cmds=down_cmds,
            app_growth_bytes=grown - loaded,
            undo_data_bytes=undo_data,
            undo_index_bytes=undo_index,
            extra_docs_written=logged + deleted,
            restored=restored,
        )


def table(results: list[Result], n: int) -> str:
    plain = results[0]
    rows = [
        f"N = {n:,} stories; one migration sets `user_id` on all of them, its downgrade reverts it. "
        "Each line on a freshly started SecantusDB.",
        "",
        "| where the undo information lives | up | down | commands up / down | bytes added to app documents (per doc) | of which undo information | undo collection (data + index) | extra documents written (up + down) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        undo_in_docs = r.app_growth_bytes - plain.app_growth_bytes
        rows.append(
            f"| {r.variant} | {r.up_s:.1f} s | {r.down_s:.1f} s | {r.up_cmds} / {r.down_cmds} "
            f"| {r.app_growth_bytes / 1e6:.1f} MB ({r.app_growth_bytes / n:.0f} B) "
            f"| {undo_in_docs / 1e6:.1f} MB ({undo_in_docs / n:.0f} B) "
            f"| {(r.undo_data_bytes + r.undo_index_bytes) / 1e6:.1f} MB "
            f"| {r.extra_docs_written:,} |"
        )
    bad = [r.variant for r in results if not r.restored]
    if bad:
        rows.append("")
        rows.append(f"Not restored exactly: {', '.join(bad)}.")
    return "\n".join(rows) + "\n"


def main() -> None:
    n = int(os.environ.get("UNDO_BENCH_N", "100000"))
    results = [run_variant(name, n) for name in VARIANTS]
    text = table(results, n)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "undo-log.md").write_text(text)
    (OUT / "undo-log.json").write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n")
    print(text)


def on_sigterm(signum, frame):
    # Unwinds like Ctrl-C does, so the server is stopped.
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        main()
    except BenchError as e:
        say(f"error: {e}")
        sys.exit(1)
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
