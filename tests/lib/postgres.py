"""A throwaway PostgreSQL server for a test run: Debian's binaries (apt package `postgresql`),
a temporary data folder, a free loopback port, trust authentication, stopped and deleted at the
end. The machine's own PostgreSQL, if one runs, is never touched.

PostgreSQL refuses to run as root; when the harness is root (CI), the server runs as the
`postgres` user the Debian package creates, through runuser.
"""
import glob
import os
import shutil
import subprocess
import tempfile
import time

import harness


def binaries():
    """The newest installed PostgreSQL's bin folder, or None."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    found.sort(key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


class Postgres:
    """`with Postgres(log_dir) as pg:` starts a server; `pg.dsn` reaches it as the superuser."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.bin = binaries()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql; "
                               "tests/lib/setup-postgres.sh does it)")
        self.folder = None
        self.proc = None
        self.port = None

    def _as_server_user(self, argv):
        return ["runuser", "-u", "postgres", "--"] + argv if os.geteuid() == 0 else argv

    def __enter__(self):
        self.folder = tempfile.mkdtemp(prefix="duplex-pg-")
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        data = os.path.join(self.folder, "data")
        init_log = os.path.join(self.log_dir, "initdb.log")
        with open(init_log, "wb") as log:
            subprocess.run(self._as_server_user(
                [os.path.join(self.bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
                 "-E", "UTF8", "--no-sync"]), stdout=log, stderr=subprocess.STDOUT, check=True,
                cwd=self.folder)
        self.port = harness.free_port()
        self.proc = harness.start(self._as_server_user(
            [os.path.join(self.bin, "postgres"), "-D", data, "-p", str(self.port),
             "-k", self.folder, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]),
            os.path.join(self.log_dir, "postgres.log"), cwd=self.folder)
        deadline = time.monotonic() + 30
        while True:
            ready = subprocess.run([os.path.join(self.bin, "pg_isready"), "-h", "127.0.0.1", "-U", "postgres",
                                    "-p", str(self.port)], capture_output=True)
            if ready.returncode == 0:
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("PostgreSQL did not start\n" + harness.tail(
                    os.path.join(self.log_dir, "postgres.log")))
            time.sleep(0.1)
        return self

    @property
    def dsn(self):
        return "postgresql://postgres@127.0.0.1:%d/postgres" % self.port

    def __exit__(self, *exc):
        if self.proc is not None:
            harness.stop(self.proc)
            self.proc = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
