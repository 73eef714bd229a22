#!/usr/bin/env python3
"""Our `migrate` runner against pymongo-migrate and migrate-mongo, side by side.

Each tool gets the same N migrations (migration i sets `bench {_id: 0}` field `v` to i, its
downgrade sets it back to i-1) and runs the same sequence on a freshly started SecantusDB:

    status (empty db) -> up (all N) -> status (all applied) -> down (all N)

For every command we record the wall time of the whole process, start-up included (what a user
waits for), and the number of server commands it caused, read from `serverStatus` opcounters.
The median over BENCH_REPS repetitions goes into a markdown table, printed and written to
.dev/bench/peers.md (raw samples in .dev/bench/peers.json).

Run it with the dev venv's python, which has pymongo and pymongo-migrate 1.0.0:

    scripts/dev-db install && .dev/venv/bin/python bench/peers.py     # or: make bench-peers

Environment: BENCH_N (default "50 200"), BENCH_REPS (default 3), BENCH_REV (measure a commit's
framework instead of the working tree's; either crate layout, crates/mongodb-migrate or the older
crates/mongo-migrate). See bench/README.md.
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
from dataclasses import dataclass, field
from pathlib import Path

import provenance

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / ".dev"
OUT = DEV / "bench"
NODE_DIR = DEV / "bench-node"
# Shared with later runs so that rebuilding the bench app is incremental; kept apart from
# target/release and target/fixtures so that we never wait on (or invalidate) other builds.
TARGET_DIR = ROOT / "target" / "bench-peers"
DEV_DB = ROOT / "scripts" / "dev-db"

PYMONGO_MIGRATE_VERSION = "1.0.0"
MIGRATE_MONGO_VERSION = "14.0.7"
# migrate-mongo only declares the driver as a peer dependency (^4 … ^7); pinning it keeps runs
# comparable instead of following whatever npm resolves on the day.
MONGODB_NODE_VERSION = "7.9.0"

DATABASE = "benchdb"
SERVER_NAME = "bench-cell"
TOOLS = ("pymongo-migrate", "migrate-mongo", "ours")
STEPS = ("status (empty)", "up (all)", "status (all applied)", "down (all)")
TOTAL = "whole sequence"

# Variables through which a caller's environment would steer the tools somewhere else (another
# database, collection or migrations directory) than what the benchmark passes explicitly.
TOOL_ENV_PREFIXES = ("MONGO_URI", "MONGO_DATABASE", "MONGO_MIGRATE_", "PYMONGO_MIGRATE_")


class BenchError(Exception):
    """A failure that stops the benchmark: it is reported, never skipped."""


def say(msg: str) -> None:
    print(f"bench-peers: {msg}", file=sys.stderr, flush=True)


def run_checked(argv: list[str], **kw) -> subprocess.CompletedProcess:
    """Runs a setup command, showing its output only when it fails."""
    proc = subprocess.run(argv, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise BenchError(
            f"`{' '.join(map(str, argv))}` exited with {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout}--- stderr ---\n{proc.stderr}"
        )
    return proc


def write_if_changed(path: Path, text: str) -> None:
    """Leaves an unchanged file alone, so its mtime does not make cargo rebuild the bench app."""
    if path.is_file() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# ---------------------------------------------------------------------------------------------
# Installing the peers
# ---------------------------------------------------------------------------------------------


def check_pymongo_migrate() -> Path:
    try:
        version = importlib.metadata.version("pymongo-migrate")
    except importlib.metadata.PackageNotFoundError:
        version = None
    if version != PYMONGO_MIGRATE_VERSION:
        raise BenchError(
            f"this python ({sys.executable}) has pymongo-migrate {version}, not "
            f"{PYMONGO_MIGRATE_VERSION}: run `scripts/dev-db install` and use .dev/venv/bin/python"
        )
    exe = Path(sys.prefix) / "bin" / "pymongo-migrate"
    if not exe.is_file():
        raise BenchError(f"pymongo-migrate is installed but {exe} is missing")
    return exe


def install_migrate_mongo() -> Path:
    """Installs migrate-mongo (and its driver) into .dev/bench-node unless already there."""
    wanted = {"migrate-mongo": MIGRATE_MONGO_VERSION, "mongodb": MONGODB_NODE_VERSION}

    def installed() -> dict[str, str | None]:
        found = {}
        for pkg in wanted:
            manifest = NODE_DIR / "node_modules" / pkg / "package.json"
            found[pkg] = json.loads(manifest.read_text())["version"] if manifest.is_file() else None
        return found

    if installed() != wanted:
        say(f"installing migrate-mongo@{MIGRATE_MONGO_VERSION} and mongodb@{MONGODB_NODE_VERSION} "
            f"into {NODE_DIR.relative_to(ROOT)}")
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        manifest = {"name": "bench-peers-node", "private": True, "dependencies": wanted}
        (NODE_DIR / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
        run_checked(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR)
        if installed() != wanted:
            raise BenchError(f"npm install left {installed()} in {NODE_DIR}, wanted {wanted}")
    return NODE_DIR / "node_modules" / "migrate-mongo" / "bin" / "migrate-mongo.js"


# ---------------------------------------------------------------------------------------------
# The same N migrations, once per tool
# ---------------------------------------------------------------------------------------------


def migration_name(i: int, sep: str = "_") -> str:
    return sep.join([f"{i:04d}", "set", "v", str(i)])


def generate_pymongo_migrate(n: int) -> Path:
    """A chain of python modules: pymongo-migrate orders them by `dependencies`, not file name."""
    root = OUT / f"pymongo-migrate-{n}"
    shutil.rmtree(root, ignore_errors=True)
    migrations = root / "migrations"
    migrations.mkdir(parents=True)
    for i in range(1, n + 1):
        deps = [migration_name(i - 1)] if i > 1 else []
        (migrations / f"{migration_name(i)}.py").write_text(
            f'"""Set v to {i}."""\n'
            f"name = {migration_name(i)!r}\n"
            f"dependencies = {deps!r}\n\n\n"
            f"def upgrade(db):\n"
            f'    db.bench.update_one({{"_id": 0}}, {{"$set": {{"v": {i}}}}}, upsert=True)\n\n\n'
            f"def downgrade(db):\n"
            f'    db.bench.update_one({{"_id": 0}}, {{"$set": {{"v": {i - 1}}}}}, upsert=True)\n'
        )
    return migrations


def generate_migrate_mongo(n: int) -> Path:
    """A migrate-mongo project: its config, and migrations it orders by file name."""
    root = OUT / f"migrate-mongo-{n}"
    shutil.rmtree(root, ignore_errors=True)
    migrations = root / "migrations"
    migrations.mkdir(parents=True)
    # The config migrate-mongo's `init` writes, except that the URL comes from the environment
    # (a fresh port per cell). lockTtl 0 is that default: no lock collection.
    (root / "migrate-mongo-config.js").write_text(
        "// Generated by bench/peers.py. The URL changes with every fresh server.\n"
        "const url = process.env.BENCH_MONGO_URL;\n"
        'if (!url) throw new Error("BENCH_MONGO_URL is not set");\n'
        "module.exports = {\n"
        f'  mongodb: {{ url, databaseName: "{DATABASE}", options: {{}} }},\n'
        '  migrationsDir: "migrations",\n'
        '  changelogCollectionName: "changelog",\n'
        '  lockCollectionName: "changelog_lock",\n'
        "  lockTtl: 0,\n"
        '  migrationFileExtension: ".js",\n'
        "  useFileHash: false,\n"
        '  moduleSystem: "commonjs",\n'
        "};\n"
    )
    # Pins CommonJS whatever package.json a parent directory might have.
    (root / "package.json").write_text('{ "private": true, "type": "commonjs" }\n')
    for i in range(1, n + 1):
        (migrations / f"{migration_name(i, '-')}.js").write_text(
            f"// Set v to {i}.\n"
            "module.exports = {\n"
            "  async up(db) {\n"
            f'    await db.collection("bench").updateOne({{ _id: 0 }}, {{ $set: {{ v: {i} }} }}, {{ upsert: true }});\n'
            "  },\n"
            "  async down(db) {\n"
            f'    await db.collection("bench").updateOne({{ _id: 0 }}, {{ $set: {{ v: {i - 1} }} }}, {{ upsert: true }});\n'
            "  },\n"
            "};\n"
        )
    return root


@dataclass
class Framework:
    dir: Path  # holds Cargo.toml (the crates inherit workspace settings), Cargo.lock and crates/
    label: str

    # Two crate layouts, told apart by crates/mongodb-migrate/Cargo.toml:
    # - new: crates/mongodb-migrate (the facade an app depends on, the `migrate` command behind
    #   feature `cli`), -core, -cli, and crates/mongodb-migrate-build; `App::migrations_dir` is
    #   gone. Its libraries were `mongo_migrate` and `mongo_migrate_build` until the crates'
    #   rename made them `mongodb_migrate` and `mongodb_migrate_build`: the app renames both
    #   dependencies to the old names, which every commit of this layout accepts;
    # - old: crates/mongo-migrate (`cli` on by default) and crates/mongo-migrate-build, libraries
    #   `mongo_migrate` and `mongo_migrate_build`.
    # Migrations and build.rs therefore spell `mongo_migrate` for every commit.

    @property
    def new_layout(self) -> bool:
        return (self.dir / "crates" / "mongodb-migrate" / "Cargo.toml").is_file()

    @property
    def runtime_package(self) -> str:
        return "mongodb-migrate" if self.new_layout else "mongo-migrate"

    def app_dependencies(self) -> str:
        """The [dependencies] and [build-dependencies] of an app crate built on this framework."""
        crates = self.dir / "crates"
        if self.new_layout:
            runtime = crates / "mongodb-migrate"
            build = crates / "mongodb-migrate-build"
            runtime_dep = (
                f'mongo_migrate = {{ package = "mongodb-migrate", path = {json.dumps(str(runtime))}, '
                'features = ["cli"] }'
            )
            build_dep = (
                f'mongo_migrate_build = {{ package = "mongodb-migrate-build", '
                f"path = {json.dumps(str(build))} }}"
            )
        else:
            runtime = crates / "mongo-migrate"
            build = crates / "mongo-migrate-build"
            runtime_dep = f"mongo-migrate = {{ path = {json.dumps(str(runtime))} }}"
            build_dep = f"mongo-migrate-build = {{ path = {json.dumps(str(build))} }}"
        for crate in (runtime, build):
            if not (crate / "Cargo.toml").is_file():
                raise BenchError(
                    f"{crate / 'Cargo.toml'} is missing: {self.dir} has neither the crate layout with "
                    "crates/mongodb-migrate nor the one with crates/mongo-migrate (mid-edit? use BENCH_REV)"
                )
        return f"[dependencies]\n{runtime_dep}\n\n[build-dependencies]\n{build_dep}\n"

    def app_main(self) -> str:
        """src/main.rs of an app crate: the `migrate` command over the generated registry."""
        # The old layout's App took the migrations directory (for `migrate new`); the new one has
        # no such method.
        migrations_dir = (
            "" if self.new_layout
            else '        .migrations_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))\n'
        )
        return (
            "mod registry;\n\nfn main() -> std::process::ExitCode {\n"
            "    mongo_migrate::cli::App::new(registry::MIGRATIONS)\n"
            f"{migrations_dir}"
            "        .run()\n}\n"
        )


def write_app_crate(root: Path, package: str) -> None:
    """Cargo.toml, build.rs and src/ of an app crate laid out like the repo root (not migrations/)."""
    write_if_changed(
        root / "Cargo.toml",
        f'[package]\nname = "{package}"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
        # One binary name per app: they all share TARGET_DIR.
        f'[[bin]]\nname = "{package}"\npath = "src/main.rs"\n\n'
        "# Not a member of the repository's workspace.\n[workspace]\n\n"
        + FRAMEWORK.app_dependencies(),
    )
    write_if_changed(
        root / "build.rs",
        'fn main() {\n    mongo_migrate_build::Builder::new().migrations_dir("migrations").emit();\n}\n',
    )
    write_if_changed(root / "src" / "registry.rs", 'include!(concat!(env!("OUT_DIR"), "/registry.rs"));\n')
    write_if_changed(root / "src" / "main.rs", FRAMEWORK.app_main())


def framework() -> Framework:
    """The framework we measure: the working tree, or with BENCH_REV a commit's snapshot.

    The snapshot lets the benchmark run while the working tree is mid-edit; it is extracted once
    per commit, so its unchanged mtimes keep later builds incremental.
    """
    rev = os.environ.get("BENCH_REV")
    if not rev:
        # Without .git (a source tarball) the tree is measured all the same, as "unknown commit".
        at = provenance.commit(ROOT, ["Cargo.toml", "Cargo.lock", "crates"])
        return Framework(ROOT, f"working tree at {at}")
    if provenance.commit(ROOT) == provenance.UNKNOWN:
        raise BenchError(f"BENCH_REV={rev} needs git and a git checkout; this tree has no commit to extract it from")
    sha = run_checked(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT).stdout.strip()
    snapshot = OUT / f"framework-{sha[:12]}"
    if not (snapshot / ".complete").is_file():
        shutil.rmtree(snapshot, ignore_errors=True)
        snapshot.mkdir(parents=True)
        say(f"extracting Cargo.toml, Cargo.lock and crates/ of {rev} ({sha[:12]}) into {snapshot.relative_to(ROOT)}")
        archive = subprocess.Popen(
            ["git", "archive", sha, "Cargo.toml", "Cargo.lock", "crates"], cwd=ROOT, stdout=subprocess.PIPE
        )
        run_checked(["tar", "-x", "-C", str(snapshot)], stdin=archive.stdout)
        if archive.wait() != 0:
            raise BenchError(f"git archive {sha} failed")
        (snapshot / ".complete").touch()
    return Framework(snapshot, f"commit {sha[:12]} ({rev})")


FRAMEWORK: Framework  # set by main()


def generate_and_build_ours(n: int) -> Path:
    """An app crate laid out like the repo root (and tests/fixtures/apps), built in release."""
    root = OUT / f"ours-{n}"
    package = f"bench-ours-{n}"
    write_app_crate(root, package)
    migrations = root / "migrations"
    wanted = set()
    for i in range(1, n + 1):
        name = migration_name(i)
        wanted.add(f"{name}.rs")
        deps = f'&["{migration_name(i - 1)}"]' if i > 1 else "&[]"
        write_if_changed(
            migrations / f"{name}.rs",
            f"//! Set v to {i}.\n"
            "use mongo_migrate::prelude::*;\n\n"
            f'pub const NAME: &str = "{name}";\n'
            f"pub const DEPENDENCIES: &[&str] = {deps};\n\n"
            "pub async fn upgrade(db: &Database) -> Result<()> {\n"
            '    db.collection::<Document>("bench")\n'
            f'        .update_one(doc! {{ "_id": 0 }}, doc! {{ "$set": {{ "v": {i} }} }})\n'
            "        .upsert(true)\n"
            "        .await?;\n"
            "    Ok(())\n"
            "}\n\n"
            "pub async fn downgrade(db: &Database) -> Result<()> {\n"
            '    db.collection::<Document>("bench")\n'
            f'        .update_one(doc! {{ "_id": 0 }}, doc! {{ "$set": {{ "v": {i - 1} }} }})\n'
            "        .upsert(true)\n"
            "        .await?;\n"
            "    Ok(())\n"
            "}\n",
        )
    for stale in migrations.glob("*.rs"):
        if stale.name not in wanted:
            stale.unlink()
    # The framework's lock file pins every dependency to the versions it already builds with.
    shutil.copyfile(FRAMEWORK.dir / "Cargo.lock", root / "Cargo.lock")
    say(f"cargo build --release of {package} (CARGO_TARGET_DIR={TARGET_DIR.relative_to(ROOT)})")
    cargo = os.environ.get("CARGO", "cargo")
    env = {**os.environ, "CARGO_TARGET_DIR": str(TARGET_DIR)}
    # Cargo's own output goes straight to the terminal: a first release build takes minutes.
    proc = subprocess.run([cargo, "build", "--release"], cwd=root, env=env)
    if proc.returncode != 0:
        raise BenchError(f"cargo build --release of {root} failed (exit {proc.returncode})")
    exe = TARGET_DIR / "release" / package
    if not exe.is_file():
        raise BenchError(f"cargo build succeeded but {exe} is missing")
    return exe


# ---------------------------------------------------------------------------------------------
# One cell: a fresh server, the four commands, each timed and counted
# ---------------------------------------------------------------------------------------------


class Server:
    """A throwaway SecantusDB under the name bench-cell, plus a client that reads its counters."""

    def __init__(self) -> None:
        self.port: int | None = None
        self.client = None
        self.status_cost = 0

    def start(self) -> None:
        status = subprocess.run([DEV_DB, "status", "--name", SERVER_NAME], capture_output=True, text=True)
        if status.returncode == 0:
            # `dev-db start` would reuse it, and a used server is exactly what we must not measure.
            raise BenchError(
                f"a '{SERVER_NAME}' server is already running ({status.stdout.strip()}): another "
                f"bench-peers run, or a leftover; stop it with `scripts/dev-db stop --name {SERVER_NAME}`"
            )
        self.port = int(run_checked([DEV_DB, "free-port"]).stdout.strip())
        run_checked([DEV_DB, "start", "--name", SERVER_NAME, "--port", str(self.port), "--throwaway"])
        from pymongo import MongoClient

        # Polling once an hour: no monitor hello lands inside a measurement. directConnection:
        # no replica-set discovery connections either.
        self.client = MongoClient(
            f"mongodb://127.0.0.1:{self.port}/",
            directConnection=True,
            heartbeatFrequencyMS=3_600_000,
            serverMonitoringMode="poll",
        )
        # Several reads: the first ones include the connection handshake. What one read adds to
        # the next one's counters must then be steady, or the subtraction would be a guess.
        deltas = []
        prev = self.counters()
        for _ in range(5):
            cur = self.counters()
            deltas.append(cur - prev)
            prev = cur
        if len(set(deltas[2:])) != 1:
            raise BenchError(f"serverStatus reads cost an unsteady number of commands: {deltas}")
        self.status_cost = deltas[-1]

    def counters(self) -> int:
        ops = self.client.admin.command("serverStatus")["opcounters"]
        return sum(int(ops[k]) for k in ("insert", "query", "update", "delete", "getmore", "command"))

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/{DATABASE}"

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.port is not None:
            self.port = None
            run_checked([DEV_DB, "stop", "--name", SERVER_NAME])


@dataclass
class Sample:
    seconds: float
    commands: int


@dataclass
class Tool:
    name: str
    cwd: Path
    env: dict[str, str]
    argv: dict[str, list[str]]  # STEPS -> command line; `{uri}` is replaced by the server's URI
    uri_env: str | None = None  # an environment variable that carries the URI instead


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(TOOL_ENV_PREFIXES)}


def run_step(server: Server, tool: Tool, step: str) -> Sample:
    argv = [a.replace("{uri}", server.uri) for a in tool.argv[step]]
    env = dict(tool.env)
    if tool.uri_env:
        env[tool.uri_env] = server.uri
    # Output goes to files, not pipes: migrate-mongo ends with process.exit(), which cuts node's
    # asynchronous pipe writes at 64 KiB (a 200-row status table is longer), while file writes,
    # like terminal writes, are synchronous: the whole output is produced, as a user would see it.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        before = server.counters()
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=tool.cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        seconds = time.perf_counter() - start
        after = server.counters()
        if proc.returncode != 0:
            out.seek(0)
            err.seek(0)
            raise BenchError(
                f"{tool.name} {step}: `{' '.join(argv)}` exited with {proc.returncode}\n"
                f"--- stdout ---\n{out.read().decode(errors='replace')}"
                f"--- stderr ---\n{err.read().decode(errors='replace')}"
            )
    # `after` also counted itself; `before` was counted by itself, not by this window.
    return Sample(seconds, after - before - server.status_cost)


def verify(server: Server, tool: str, step: str, n: int) -> None:
    """Checks the command did its job, so a tool that silently did nothing cannot look fast."""
    db = server.client[DATABASE]
    bench = db.bench.find_one({"_id": 0})
    v = bench.get("v") if bench else None
    if tool == "migrate-mongo":
        applied = db.changelog.count_documents({})
    else:  # ours keeps pymongo-migrate's state format, in the same collection
        applied = db.pymongo_migrate.count_documents({"applied": {"$ne": None}})
    expected = {
        "status (empty)": (None, 0),
        "up (all)": (n, n),
        "status (all applied)": (n, n),
        "down (all)": (0, 0),
    }[step]
    if (v, applied) != expected:
        raise BenchError(
            f"{tool} after `{step}` with N={n}: bench.v={v}, {applied} applied; "
            f"expected v={expected[0]}, {expected[1]} applied"
        )


def run_cell(tool: Tool, n: int) -> dict[str, Sample]:
    server = Server()
    try:
        server.start()
        samples = {}
        for step in STEPS:
            samples[step] = run_step(server, tool, step)
            verify(server, tool.name, step, n)
        return samples
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:,.0f} ms" if ms >= 10 else f"{ms:.1f} ms"


def fmt_cmds(values: list[int]) -> str:
    med = statistics.median(values)
    text = f"{med:,.0f}" if med == int(med) else f"{med:,.1f}"
    if min(values) != max(values):
        text += f" ({min(values):,}–{max(values):,})"
    return text


@dataclass
class Results:
    # (n, tool, step) -> one Sample per repetition; TOTAL sums a cell's steps
    samples: dict[tuple[int, str, str], list[Sample]] = field(default_factory=dict)

    def add(self, n: int, tool: str, cell: dict[str, Sample]) -> None:
        for step, sample in cell.items():
            self.samples.setdefault((n, tool, step), []).append(sample)
        total = Sample(sum(s.seconds for s in cell.values()), sum(s.commands for s in cell.values()))
        self.samples.setdefault((n, tool, TOTAL), []).append(total)

    def median_time(self, n: int, tool: str, step: str) -> float:
        return statistics.median(s.seconds for s in self.samples[(n, tool, step)])

    def commands(self, n: int, tool: str, step: str) -> list[int]:
        return [s.commands for s in self.samples[(n, tool, step)]]


def table(results: Results, ns: list[int]) -> str:
    head = ["N", "command"]
    for tool in TOOLS:
        head += [f"{tool} time", f"{tool} cmds"]
    head += ["ours vs pymongo-migrate", "ours vs migrate-mongo"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for n in ns:
        for step in (*STEPS, TOTAL):
            row = [str(n), f"**{step}**" if step == TOTAL else step]
            for tool in TOOLS:
                row += [fmt_ms(results.median_time(n, tool, step)), fmt_cmds(results.commands(n, tool, step))]
            ours = results.median_time(n, "ours", step)
            for peer in ("pymongo-migrate", "migrate-mongo"):
                row.append(f"{results.median_time(n, peer, step) / ours:.2f}×")
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def per_migration_table(results: Results, ns: list[int]) -> str | None:
    """Server commands each extra migration costs: the slope between the smallest and largest N.

    From each cell's fewest commands: what varies between repetitions is a driver's background
    monitoring hello landing inside the command or not, which only ever adds.
    """
    lo, hi = min(ns), max(ns)
    if lo == hi:
        return None
    lines = ["| command | " + " | ".join(TOOLS) + " |", "|---|" + "---:|" * len(TOOLS)]
    for step in STEPS:
        row = [step]
        for tool in TOOLS:
            a = min(results.commands(lo, tool, step))
            b = min(results.commands(hi, tool, step))
            row.append(f"{(b - a) / (hi - lo):.2f}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def versions() -> str:
    node = run_checked(["node", "--version"]).stdout.strip()
    secantus = importlib.metadata.version("secantusdb")
    return (
        f"ours: {FRAMEWORK.runtime_package}, {FRAMEWORK.label}, release build; "
        f"pymongo-migrate {PYMONGO_MIGRATE_VERSION} (python {platform.python_version()}, "
        f"pymongo {importlib.metadata.version('pymongo')}); "
        f"migrate-mongo {MIGRATE_MONGO_VERSION} (node {node}, mongodb driver {MONGODB_NODE_VERSION}); "
        f"server: SecantusDB {secantus}, a fresh one per cell"
    )


NOTES = """\
- **time**: median wall time of the whole process, start-up included; **cmds**: server commands
  it caused (sum of the `serverStatus` opcounters: insert, query, update, delete, getmore,
  command; connection handshakes count, a bulk write counts once). A range follows the median
  when repetitions disagree. The ratios are peer time / our time: above 1× we are faster.
- **status**: `migrate status`, `pymongo-migrate show`, `migrate-mongo status`.
- **up**: `migrate up`, `pymongo-migrate migrate`, `migrate-mongo up`.
- **down (all)**: `migrate down --to zero`; `pymongo-migrate downgrade` (no target: every applied
  migration, latest first); `migrate-mongo down --block` (the last migration block, which is
  all N because one `up` applied them; plain `down` undoes a single migration).
- Each tool runs with its defaults: ours takes its lease lock for `up`/`down`; migrate-mongo's
  default config (`lockTtl: 0`) has no lock; pymongo-migrate has none.
"""


def report(results: Results, ns: list[int], reps: int) -> str:
    parts = [
        f"Measured {datetime.date.today().isoformat()} on {provenance.machine()}; "
        f"median of {reps} repetition{'s' if reps != 1 else ''}.",
        "",
        f"commit: {provenance.commit()}.",
        "",
        versions() + ".",
        "",
        table(results, ns),
        "",
    ]
    slope = per_migration_table(results, ns)
    if slope:
        parts += [
            f"Server commands per migration (slope between N={min(ns)} and N={max(ns)}):",
            "",
            slope,
            "",
        ]
    parts.append(NOTES)
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------


def parse_env() -> tuple[list[int], int]:
    try:
        ns = [int(x) for x in os.environ.get("BENCH_N", "50 200").split()]
        reps = int(os.environ.get("BENCH_REPS", "3"))
    except ValueError as e:
        raise BenchError(f"BENCH_N must be numbers separated by spaces, BENCH_REPS a number: {e}")
    if not ns or any(n < 1 or n > 9999 for n in ns) or reps < 1:
        raise BenchError("BENCH_N takes numbers from 1 to 9999 (four-digit file names), BENCH_REPS ≥ 1")
    return sorted(set(ns)), reps


def run_all(tools: dict[int, list[Tool]], ns: list[int], reps: int) -> Results:
    results = Results()
    cells = len(ns) * len(TOOLS) * reps
    done = 0
    # Repetition outermost: a burst of load from the concurrent builds on this machine then
    # spreads over every tool instead of landing on one tool's repetitions.
    for rep in range(1, reps + 1):
        for n in ns:
            for tool in tools[n]:
                done += 1
                cell = run_cell(tool, n)
                results.add(n, tool.name, cell)
                summary = ", ".join(f"{step} {fmt_ms(s.seconds)}/{s.commands}" for step, s in cell.items())
                say(f"[{done}/{cells}] rep {rep} N={n} {tool.name}: {summary}")
    return results


def main() -> None:
    global FRAMEWORK
    ns, reps = parse_env()
    for tool in ("node", "npm", os.environ.get("CARGO", "cargo")):
        if shutil.which(tool) is None:
            raise BenchError(f"`{tool}` is not on PATH; the benchmark needs node 20+, npm and cargo (and git for BENCH_REV)")
    print(provenance.header(), flush=True)
    FRAMEWORK = framework()
    pymongo_migrate = check_pymongo_migrate()
    migrate_mongo = install_migrate_mongo()
    OUT.mkdir(parents=True, exist_ok=True)
    base_env = clean_env()
    # Our CLI reads MONGO_URI from a .env in the working directory or any parent: an empty
    # directory outside the repository has none.
    ours_cwd = Path(tempfile.mkdtemp(prefix="bench-peers-ours-"))

    tools: dict[int, list[Tool]] = {}
    for n in ns:
        pm_dir = generate_pymongo_migrate(n)
        mm_dir = generate_migrate_mongo(n)
        ours = generate_and_build_ours(n)
        pm = [str(pymongo_migrate), "-u", "{uri}", "-m", str(pm_dir)]
        mm = ["node", str(migrate_mongo)]
        tools[n] = [
            Tool("pymongo-migrate", pm_dir.parent, base_env, {
                "status (empty)": [pm[0], "show", *pm[1:]],
                "up (all)": [pm[0], "migrate", *pm[1:]],
                "status (all applied)": [pm[0], "show", *pm[1:]],
                "down (all)": [pm[0], "downgrade", *pm[1:]],
            }),
            Tool("migrate-mongo", mm_dir, base_env, {
                "status (empty)": [*mm, "status"],
                "up (all)": [*mm, "up"],
                "status (all applied)": [*mm, "status"],
                "down (all)": [*mm, "down", "--block"],
            }, uri_env="BENCH_MONGO_URL"),
            Tool("ours", ours_cwd, base_env, {
                "status (empty)": [str(ours), "--uri", "{uri}", "status"],
                "up (all)": [str(ours), "--uri", "{uri}", "up"],
                "status (all applied)": [str(ours), "--uri", "{uri}", "status"],
                "down (all)": [str(ours), "--uri", "{uri}", "down", "--to", "zero"],
            }),
        ]

    try:
        results = run_all(tools, ns, reps)
    finally:
        shutil.rmtree(ours_cwd, ignore_errors=True)

    text = report(results, ns, reps)
    (OUT / "peers.md").write_text(text)
    raw = {
        f"{n} {tool} {step}": [s.__dict__ for s in samples]
        for (n, tool, step), samples in results.samples.items()
    }
    (OUT / "peers.json").write_text(json.dumps(raw, indent=1) + "\n")
    print(text)
    say(f"written to {(OUT / 'peers.md').relative_to(ROOT)} (raw samples: peers.json)")


def on_sigterm(signum, frame):
    # Unwinds like Ctrl-C does, so the `finally` that stops the cell's server runs.
    say("terminated")
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
