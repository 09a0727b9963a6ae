"""Integration test harness: starts real programs on loopback and talks SMTP to them.

Everything here is stdlib Python. Each peer is a class that owns one child
process (started in its own process group, killed with the whole group) and
the files it writes inside a per-test work directory:

  SmtpSink   Postfix's smtp-sink as the next hop, dumping every message to a
             directory; parsed back into (sender, recipients, data).
  Gatehouse  build/gatehouse serve with a generated TOML config whose data_dir
             lives in the work directory; events, logs and the queue CLI.
  Nsd        nsd in the foreground serving generated zones (MX routing).
  Postfix    a private Postfix instance (own config, queue and data dirs), used
             as the throughput reference and to validate this harness.

Rules the harness keeps so that no test leaves anything behind:
  * every child gets PR_SET_PDEATHSIG=SIGKILL and its own session, so it dies
    with the test process and stop() can kill its whole process group;
  * start children from the main thread only (the death signal follows the
    thread that forked);
  * every wait loop is bounded in time; every load loop in count.
"""

from __future__ import annotations

import atexit
import ctypes
import email
import email.policy
import json
import os
import random
import re
import shutil
import signal
import smtplib
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

HERE = Path(__file__).resolve().parent
SOURCE_DIR = HERE.parent.parent  # /work/main
LOOPBACK = "127.0.0.1"

SMTP_SINK = os.environ.get("SMTP_SINK", "/usr/sbin/smtp-sink")
SMTP_SOURCE = os.environ.get("SMTP_SOURCE", "/usr/sbin/smtp-source")
NSD = os.environ.get("NSD", "/usr/sbin/nsd")
POSTFIX = os.environ.get("POSTFIX", "/usr/sbin/postfix")
SWAKS = os.environ.get("SWAKS", "/usr/bin/swaks")


def gatehouse_bin() -> Path:
    return Path(os.environ.get("GATEHOUSE_BIN", str(SOURCE_DIR / "build" / "gatehouse")))


def corpus_dir() -> Path:
    return Path(os.environ.get("GATEHOUSE_CORPUS", str(SOURCE_DIR.parent / "shared" / "corpus")))


def keep_workdirs() -> bool:
    """GATEHOUSE_KEEP=1 keeps each test's work directory for inspection."""
    return os.environ.get("GATEHOUSE_KEEP", "") not in ("", "0")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# ports and waiting


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free a moment ago (bind port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(pred: Callable[[], object], timeout: float, interval: float = 0.1,
               what: str = "condition") -> object:
    """Polls pred until it returns a truthy value; raises TimeoutError after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------
# processes

_PR_SET_PDEATHSIG = 1
_libc = None


def _child_setup() -> None:
    # Runs in the child between fork and exec: die when the parent dies.
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL("libc.so.6", use_errno=True)
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


_live_processes: "set[Process]" = set()
_live_lock = threading.Lock()


def _kill_everything() -> None:
    with _live_lock:
        procs = list(_live_processes)
    for p in procs:
        try:
            p.kill9()
        except Exception:
            pass


atexit.register(_kill_everything)


def _sigterm(signum, frame):  # ctest's timeout or a Ctrl-C: still clean up
    _kill_everything()
    raise SystemExit(128 + signum)


if threading.current_thread() is threading.main_thread():
    try:
        signal.signal(signal.SIGTERM, _sigterm)
    except (ValueError, OSError):
        pass


class Process:
    """One child process in its own session; stdout+stderr go to log_path."""

    def __init__(self, argv: list[str], log_path: Path, env: Optional[dict] = None,
                 cwd: Optional[Path] = None, name: str = ""):
        self.argv = [str(a) for a in argv]
        self.name = name or Path(self.argv[0]).name
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "ab")
        self._log.write(f"\n=== {time.strftime('%H:%M:%S')} start: {' '.join(self.argv)}\n".encode())
        self._log.flush()
        self.popen = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=env, cwd=cwd, start_new_session=True, preexec_fn=_child_setup)
        self.pid = self.popen.pid
        with _live_lock:
            _live_processes.add(self)

    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self) -> Optional[int]:
        return self.popen.poll()

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                self.popen.send_signal(sig)
            except ProcessLookupError:
                pass

    def _forget(self) -> None:
        with _live_lock:
            _live_processes.discard(self)
        try:
            self._log.close()
        except Exception:
            pass

    def kill9(self) -> None:
        """SIGKILL to the whole process group, then reap."""
        self._signal_group(signal.SIGKILL)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._forget()

    def terminate(self, timeout: float = 10.0) -> Optional[int]:
        """SIGTERM to the group; SIGKILL if it has not exited after timeout s."""
        if self.alive():
            self._signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log(f"[harness] {self.name} ignored SIGTERM for {timeout}s; killing")
                self._signal_group(signal.SIGKILL)
                self.popen.wait(timeout=10)
        # Stray children left in the group (there should be none).
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._forget()
        return self.popen.returncode

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])


def run(argv: list, timeout: float = 60, env: Optional[dict] = None,
        input: Optional[bytes] = None, cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
    """Runs a short command to completion (bounded), capturing its output as bytes."""
    return subprocess.run([str(a) for a in argv], capture_output=True, timeout=timeout, env=env,
                          input=input, cwd=cwd, preexec_fn=_child_setup)


# --------------------------------------------------------------------------
# work directories


def make_workdir(prefix: str = "gh-it-") -> Path:
    """A fresh directory, world-traversable so that dropped-privilege peers
    (postfix, nobody) can reach files below it."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(d, 0o755)
    return d


def remove_workdir(d: Path) -> None:
    if keep_workdirs():
        log(f"[harness] keeping {d}")
        return
    shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------------------
# smtp-sink


@dataclass
class SinkMessage:
    path: Path
    sender: str                    # envelope sender, "" for <>
    mail_args: str                 # everything after the path in MAIL FROM
    recipients: list[str]
    rcpt_args: list[str]
    helo: str
    data: bytes                    # message as received (dot-unstuffed), CRLF line ends
    complete: bool

    def header(self, name: str) -> Optional[str]:
        """First value of a header field in the message (unfolded), or None."""
        for hname, value in iter_headers(self.data):
            if hname.lower() == name.lower():
                return value
        return None

    def parsed(self) -> email.message.Message:
        return email.message_from_bytes(self.data, policy=email.policy.compat32)


def iter_headers(data: bytes):
    """(name, unfolded value) for each header field of an RFC 5322 message."""
    head = data.split(b"\r\n\r\n", 1)[0]
    cur_name, cur_val = None, []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and cur_name is not None:
            cur_val.append(line.decode("latin-1"))
            continue
        if cur_name is not None:
            yield cur_name, " ".join(v.strip() for v in cur_val)
        name, _, val = line.partition(b":")
        cur_name, cur_val = name.decode("latin-1").strip(), [val.decode("latin-1")]
    if cur_name is not None:
        yield cur_name, " ".join(v.strip() for v in cur_val)


def split_first_header(data: bytes) -> tuple[bytes, bytes]:
    """(first header field including its folded continuation lines, rest)."""
    end = 0
    first = True
    while True:
        nl = data.find(b"\r\n", end)
        if nl < 0:
            return data, b""
        line = data[end:nl]
        if not first and (line[:1] not in (b" ", b"\t") or line == b""):
            return data[:end], data[end:]
        first = False
        end = nl + 2


def strip_first_received(data: bytes, marker: str) -> tuple[bytes, bool]:
    """Removes the first header field if it is a Received header mentioning
    marker (case-insensitive). Returns (data, stripped?)."""
    if not data[:9].lower() == b"received:":
        return data, False
    first, rest = split_first_header(data)
    if marker.lower().encode() in first.lower():
        return rest, True
    return data, False


_SINK_RECEIVED = re.compile(rb"^\tby .* \(smtp-sink\) with ")


def parse_sink_dump(path: Path) -> Optional[SinkMessage]:
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    sender, mail_args, helo = None, "", ""
    rcpts, rcpt_args = [], []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(b"Received: ") and i + 1 < len(lines) and _SINK_RECEIVED.match(lines[i + 1]):
            break
        text = line.decode("latin-1")
        if text.startswith("X-Mail-Args: "):
            path_part, _, rest = text[len("X-Mail-Args: "):].partition(" ")
            sender, mail_args = path_part.strip("<>"), rest
        elif text.startswith("X-Rcpt-Args: "):
            path_part, _, rest = text[len("X-Rcpt-Args: "):].partition(" ")
            rcpts.append(path_part.strip("<>"))
            rcpt_args.append(rest)
        elif text.startswith("X-Helo-Args: "):
            helo = text[len("X-Helo-Args: "):]
        i += 1
    else:
        return None  # the sink's own header block is not complete yet
    if sender is None:
        return None
    body = b"\n".join(lines[i + 3:])
    # The dump is: message lines each ending in "\n", then one empty line.
    complete = body.endswith(b"\n\n") or body == b"\n"
    if complete:
        body = body[:-1]
    data = body.replace(b"\n", b"\r\n")
    return SinkMessage(path=path, sender=sender, mail_args=mail_args, recipients=rcpts,
                       rcpt_args=rcpt_args, helo=helo, data=data, complete=complete)


class SmtpSink:
    """Postfix smtp-sink on 127.0.0.1:port, dumping each message to dump_dir.

    stop() and start() keep the port and the dump directory, so a test can
    take the next hop down and bring it back."""

    def __init__(self, workdir: Path, name: str = "sink", port: Optional[int] = None,
                 extra_args: Iterable[str] = (), hostname: str = "sink.test", dump: bool = True):
        self.workdir = Path(workdir)
        self.name = name
        self.port = port or free_port()
        self.host = LOOPBACK
        self.hostname = hostname
        self.extra_args = list(extra_args)
        self.dump = dump
        self.dump_dir = self.workdir / f"{name}-dump"
        self.dump_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dump_dir, 0o777)
        self.log_path = self.workdir / f"{name}.log"
        self.proc: Optional[Process] = None
        self.generation = 0  # how many times it was started

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def argv(self) -> list[str]:
        argv = [SMTP_SINK, "-c", "-h", self.hostname]
        if os.geteuid() == 0:
            argv += ["-u", "root"]
        if self.dump:
            # strftime expands the template; smtp-sink appends a random hex id.
            argv += ["-d", str(self.dump_dir) + "/%Y%m%d%H%M%S."]
        argv += self.extra_args
        argv += [f"{self.host}:{self.port}", "256"]
        return argv

    def start(self, timeout: float = 10) -> "SmtpSink":
        assert self.proc is None or not self.proc.alive(), "sink already running"
        self.generation += 1
        deadline = time.monotonic() + timeout
        while True:
            self.proc = Process(self.argv(), self.log_path, name=self.name)
            try:
                wait_until(lambda: port_open(self.host, self.port) or not self.proc.alive(),
                           timeout=max(0.5, deadline - time.monotonic()),
                           what=f"{self.name} to listen on {self.address}")
            except TimeoutError:
                self.proc.kill9()
                raise
            if self.proc.alive():
                return self
            # The port may still be in TIME_WAIT/used by a dying process: retry.
            self.proc.kill9()
            if time.monotonic() >= deadline:
                raise RuntimeError(f"{self.name} exited at start:\n{self.proc.log_tail()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate(timeout=5)
            self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def files(self) -> list[Path]:
        return sorted(p for p in self.dump_dir.iterdir() if p.is_file())

    def count(self) -> int:
        return sum(1 for p in self.dump_dir.iterdir() if p.is_file())

    def messages(self, complete_only: bool = True) -> list[SinkMessage]:
        out = []
        for p in self.files():
            try:
                m = parse_sink_dump(p)
            except FileNotFoundError:  # an aborted transaction's file went away
                continue
            if m is None or (complete_only and not m.complete):
                continue
            out.append(m)
        return out

    def wait_count(self, n: int, timeout: float, settle: float = 0.5) -> int:
        """Waits until at least n dump files exist and the directory stopped
        changing for settle seconds; returns the final count (may be < n on timeout)."""
        deadline = time.monotonic() + timeout
        while self.count() < n and time.monotonic() < deadline:
            time.sleep(0.1)
        last = None
        stable_since = time.monotonic()
        while time.monotonic() < deadline + settle + 5:
            snap = tuple((p.name, p.stat().st_size) for p in self.files() if p.exists())
            if snap != last:
                last, stable_since = snap, time.monotonic()
            elif time.monotonic() - stable_since >= settle:
                break
            time.sleep(0.05)
        return self.count()

    def counters(self) -> dict:
        """The last 'sess=N quit=N mesg=N' line printed by smtp-sink -c."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return {}
        found = re.findall(r"sess=(\d+) quit=(\d+) mesg=(\d+)", text)
        if not found:
            return {}
        s, q, m = found[-1]
        return {"sess": int(s), "quit": int(q), "mesg": int(m)}

    def clear(self) -> None:
        for p in self.files():
            p.unlink(missing_ok=True)


# --------------------------------------------------------------------------
# a tiny TOML writer (the stdlib only reads TOML)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def toml_dumps(cfg: dict) -> str:
    """Top-level keys map to scalars, tables (dict) or arrays of tables (list of dict)."""
    out = []
    for k, v in cfg.items():
        if not isinstance(v, (dict, list)) or (isinstance(v, list) and not all(isinstance(x, dict) for x in v)):
            out.append(f"{k} = {_toml_value(v)}")
    for k, v in cfg.items():
        if isinstance(v, dict):
            out.append(f"\n[{k}]")
            out += [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items()]
    for k, v in cfg.items():
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                out.append(f"\n[[{k}]]")
                out += [f"{kk} = {_toml_value(vv)}" for kk, vv in item.items()]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# gatehouse


class Gatehouse:
    """build/gatehouse serve with a generated config in workdir.

    listeners: list of dicts ({"name", "tls", "role"}; a free port is chosen
    for each unless "address" is given). routes: list of {"domain", "next_hop",
    "tls"}. The other keyword arguments are TOML tables merged over defaults."""

    received_marker = "gatehouse"

    def __init__(self, workdir: Path, *, name: str = "gatehouse",
                 listeners: Optional[list[dict]] = None,
                 routes: Optional[list[dict]] = None,
                 accept: Optional[dict] = None,
                 limits: Optional[dict] = None,
                 queue: Optional[dict] = None,
                 dns: Optional[dict] = None,
                 smtp: Optional[dict] = None,
                 server: Optional[dict] = None,
                 tls: Optional[dict] = None,
                 admin: bool = True,
                 hostname: str = "gatehouse.test"):
        self.bin = gatehouse_bin()
        self.workdir = Path(workdir)
        self.name = name
        self.dir = self.workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.dir / "data"
        self.config_path = self.dir / "gatehouse.toml"
        self.log_path = self.dir / "stderr.log"
        self.host = LOOPBACK
        self.hostname = hostname
        self.admin_port = free_port() if admin else None
        self.listeners = []
        for i, l in enumerate(listeners or [{"name": "inbound"}]):
            l = dict(l)
            l.setdefault("name", f"l{i}")
            if "address" not in l:
                l["address"] = f"{LOOPBACK}:{free_port()}"
            self.listeners.append(l)
        self.routes = routes or []
        self.tables = {
            "accept": accept if accept is not None else {"trusted_networks": ["127.0.0.0/8"]},
            "limits": limits or {},
            "queue": queue or {},
            "dns": dns or {},
            "smtp": smtp or {},
            "tls": tls or {},
        }
        self.server_extra = server or {}
        self.proc: Optional[Process] = None
        self.starts = 0

    # -- config

    def config(self) -> dict:
        server = {
            "hostname": self.hostname,
            "data_dir": str(self.data_dir),
            "admin_listen": f"{LOOPBACK}:{self.admin_port}" if self.admin_port else "off",
            "log_level": "info",
        }
        server.update(self.server_extra)
        cfg = {"server": server}
        for k, v in self.tables.items():
            if v:
                cfg[k] = v
        cfg["listener"] = self.listeners
        if self.routes:
            cfg["route"] = self.routes
        return cfg

    def write_config(self) -> Path:
        self.config_path.write_text(toml_dumps(self.config()))
        return self.config_path

    # -- addresses

    def listener_port(self, name: Optional[str] = None) -> int:
        for l in self.listeners:
            if name is None or l["name"] == name:
                return int(l["address"].rsplit(":", 1)[1])
        raise KeyError(name)

    @property
    def port(self) -> int:
        return self.listener_port()

    # -- lifecycle

    def start(self, timeout: float = 30) -> "Gatehouse":
        if not self.bin.exists():
            raise unittest.SkipTest(f"{self.bin} not built")
        self.write_config()
        self.starts += 1
        self.proc = Process([self.bin, "serve", "--config", self.config_path], self.log_path,
                            name=self.name)
        try:
            for l in self.listeners:
                port = int(l["address"].rsplit(":", 1)[1])
                wait_until(lambda: (not self.proc.alive()) or smtp_banner_ok(self.host, port),
                           timeout=timeout, what=f"{self.name} to greet on port {port}")
                if not self.proc.alive():
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n"
                                       f"{self.proc.log_tail()}")
        except Exception:
            self.proc.kill9()
            raise
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def stop(self, timeout: float = 15) -> Optional[int]:
        if self.proc is None:
            return None
        rc = self.proc.terminate(timeout=timeout)
        self.proc = None
        return rc

    def kill9(self) -> None:
        if self.proc is not None:
            self.proc.kill9()
            self.proc = None

    def restart(self, timeout: float = 30) -> "Gatehouse":
        self.stop()
        return self.start(timeout=timeout)

    # -- observing

    @property
    def events_path(self) -> Path:
        return self.data_dir / "log" / "events.jsonl"

    def events(self, kind: Optional[str] = None) -> list[dict]:
        try:
            raw = self.events_path.read_bytes()
        except FileNotFoundError:
            return []
        out = []
        for line in raw.split(b"\n"):
            if not line.strip():
                continue
            try:
                e = json.loads(line)
            except ValueError:
                continue  # a line being written, or torn by kill -9
            if kind is None or e.get("event") == kind:
                out.append(e)
        return out

    def wait_events(self, pred: Callable[[list[dict]], object], timeout: float,
                    what: str = "events") -> object:
        return wait_until(lambda: pred(self.events()), timeout=timeout, interval=0.2, what=what)

    def log_text(self) -> str:
        parts = []
        for p in (self.log_path, self.data_dir / "log" / "gatehouse.log"):
            try:
                parts.append(p.read_text(errors="replace"))
            except OSError:
                pass
        return "\n".join(parts)

    def log_tail(self, n: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])

    # -- CLI

    def cli(self, *args, timeout: float = 30) -> subprocess.CompletedProcess:
        return run([self.bin, *args], timeout=timeout, cwd=self.dir)

    def queue(self, *args, timeout: float = 30, as_json: bool = True):
        """`gatehouse queue ARGS --config FILE [--json]`; the parsed JSON with
        as_json, else the CompletedProcess. Raises on a non-zero exit with as_json."""
        argv = ["queue", *args, "--config", str(self.config_path)]
        if as_json:
            argv.append("--json")
        r = self.cli(*argv, timeout=timeout)
        if not as_json:
            return r
        if r.returncode != 0:
            raise RuntimeError(f"gatehouse {' '.join(argv)} exited {r.returncode}: "
                               f"{r.stderr.decode(errors='replace')}")
        text = r.stdout.decode(errors="replace").strip()
        return json.loads(text) if text else None

    def queue_messages(self) -> list[dict]:
        """`queue list --json` as a list of message objects."""
        v = self.queue("list")
        if isinstance(v, dict):
            for key in ("messages", "queue", "items"):
                if isinstance(v.get(key), list):
                    return v[key]
            return []
        return v or []


def qid_of(m: dict) -> str:
    return m.get("queue_id") or m.get("qid") or m.get("id") or ""


# --------------------------------------------------------------------------
# Postfix, a private instance


class Postfix:
    """A private Postfix instance in workdir relaying everything to relay
    (host:port). Used as the reference MTA (bench) and as a stand-in system
    under test to validate the harness. Needs root (postfix owns its queue)."""

    received_marker = "(Postfix)"

    def __init__(self, workdir: Path, relay: str, name: str = "postfix",
                 hostname: str = "postfix.test", extra_main: Optional[dict] = None):
        self.workdir = Path(workdir)
        self.name = name
        self.dir = self.workdir / name
        self.conf_dir = self.dir / "conf"
        self.queue_dir = self.dir / "queue"
        self.data_dir = self.dir / "data"
        for d in (self.dir, self.conf_dir, self.queue_dir, self.data_dir):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o755)
        shutil.chown(self.data_dir, "postfix")
        self.maillog = self.dir / "maillog"
        self.host = LOOPBACK
        self.port = free_port()
        self.hostname = hostname
        self.relay = relay
        self.extra_main = extra_main or {}
        self.running = False

    def _write_config(self) -> None:
        main = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.data_dir),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": self.hostname,
            "mydomain": "test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": LOOPBACK,
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "relayhost": f"[{self.relay.rsplit(':', 1)[0]}]:{self.relay.rsplit(':', 1)[1]}",
            "local_transport": "error:local delivery is disabled",
            "alias_maps": "",
            "alias_database": "",
            "maillog_file_prefixes": str(self.dir),
            "maillog_file": str(self.maillog),
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "default_process_limit": "200",
            "default_destination_concurrency_limit": "20",
            "smtp_destination_concurrency_limit": "20",
            "smtpd_client_connection_count_limit": "0",
            "smtpd_client_connection_rate_limit": "0",
            "biff": "no",
            "message_size_limit": str(60 * 1024 * 1024),
        }
        main.update(self.extra_main)
        (self.conf_dir / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in main.items()))
        services = [
            f"{self.host}:{self.port} inet n - n - - smtpd",
            "pickup unix n - n 60 1 pickup",
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "smtp unix - - n - - smtp",
            "relay unix - - n - - smtp",
            "showq unix n - n - - showq",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
        ]
        (self.conf_dir / "master.cf").write_text("\n".join(services) + "\n")

    def _postfix(self, *args, timeout: float = 60) -> subprocess.CompletedProcess:
        return run([POSTFIX, "-c", str(self.conf_dir), *args], timeout=timeout)

    def master_pid(self) -> Optional[int]:
        try:
            return int((self.queue_dir / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def start(self, timeout: float = 30) -> "Postfix":
        self._write_config()
        r = self._postfix("start", timeout=timeout)
        self.running = True
        try:
            wait_until(lambda: smtp_banner_ok(self.host, self.port), timeout=timeout,
                       what="postfix smtpd")
        except TimeoutError:
            raise RuntimeError(f"postfix did not start (rc={r.returncode}):\n"
                               + self.maillog.read_text(errors="replace")[-3000:]
                               if self.maillog.exists() else "")
        return self

    def stop(self) -> None:
        if not self.running:
            return
        pid = self.master_pid()
        self._postfix("stop", timeout=60)
        if pid:
            try:
                wait_until(lambda: not _pid_alive(pid), timeout=20, what="postfix master to exit")
            except TimeoutError:
                self.kill9()
        self.running = False

    def kill9(self) -> None:
        pid = self.master_pid()
        if pid and _pid_alive(pid):
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                wait_until(lambda: not _pid_alive(pid), timeout=10, what="postfix master to die")
            except TimeoutError:
                pass
        self.running = False

    def restart(self, timeout: float = 30) -> "Postfix":
        self.stop()
        return self.start(timeout)

    def alive(self) -> bool:
        pid = self.master_pid()
        return bool(pid) and _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie counts as dead.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


# --------------------------------------------------------------------------
# nsd


def dns_query(server: str, port: int, name: str, qtype: int = 6, timeout: float = 1.0) -> Optional[tuple[int, int]]:
    """One UDP query; returns (rcode, answer count) or None on no answer."""
    qid = random.randrange(65536)
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        packet += bytes([len(label)]) + label.encode()
    packet += b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(packet, (server, port))
            resp, _ = s.recvfrom(4096)
        except OSError:
            return None
    if len(resp) < 12 or struct.unpack(">H", resp[:2])[0] != qid:
        return None
    flags, _, ancount = struct.unpack(">HHH", resp[2:8])
    return flags & 0xF, ancount


class Nsd:
    """nsd -d on 127.0.0.1:port serving zones given as {origin: [record lines]}."""

    def __init__(self, workdir: Path, zones: dict[str, list[str]], name: str = "nsd"):
        self.workdir = Path(workdir)
        self.dir = self.workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.name = name
        self.host = LOOPBACK
        self.port = free_port()
        self.zones = zones
        self.proc: Optional[Process] = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _write(self) -> Path:
        d = self.dir
        conf = [
            "server:",
            f"  ip-address: {self.host}@{self.port}",
            "  do-ip6: no",
            '  username: ""',
            '  chroot: ""',
            f'  zonesdir: "{d}"',
            '  database: ""',
            f'  zonelistfile: "{d}/zone.list"',
            f'  xfrdfile: "{d}/xfrd.state"',
            f'  xfrdir: "{d}"',
            f'  pidfile: "{d}/nsd.pid"',
            f'  logfile: "{d}/nsd.log"',
            "  server-count: 1",
            "  verbosity: 1",
            "remote-control:",
            "  control-enable: no",
        ]
        for origin, records in self.zones.items():
            origin = origin.rstrip(".")
            zf = d / f"{origin}.zone"
            zf.write_text("\n".join([
                f"$ORIGIN {origin}.",
                "$TTL 60",
                "@ IN SOA ns1 hostmaster 1 3600 600 86400 60",
                "@ IN NS ns1",
                "ns1 IN A 127.0.0.1",
                *records,
            ]) + "\n")
            conf += ["zone:", f'  name: "{origin}"', f'  zonefile: "{zf.name}"']
        path = d / "nsd.conf"
        path.write_text("\n".join(conf) + "\n")
        return path

    def start(self, timeout: float = 15) -> "Nsd":
        conf = self._write()
        self.proc = Process([NSD, "-d", "-c", conf], self.dir / "stdout.log", name=self.name)
        first = next(iter(self.zones))
        try:
            wait_until(lambda: (not self.proc.alive()) or
                       (dns_query(self.host, self.port, first, 6) or (None,))[0] == 0,
                       timeout=timeout, what="nsd to answer")
        except TimeoutError:
            self.proc.kill9()
            raise
        if not self.proc.alive():
            raise RuntimeError(f"nsd exited:\n{self.proc.log_tail()}\n"
                               + (self.dir / "nsd.log").read_text(errors="replace")
                               if (self.dir / "nsd.log").exists() else "")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate(timeout=5)
            self.proc = None


# --------------------------------------------------------------------------
# SMTP clients


def smtp_banner_ok(host: str, port: int, timeout: float = 2.0) -> bool:
    """True if the port answers with a 220 greeting (then QUITs politely)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            buf = b""
            while b"\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    return False
                buf += chunk
            ok = buf.startswith(b"220")
            try:
                s.sendall(b"QUIT\r\n")
                s.recv(4096)
            except OSError:
                pass
            return ok
    except OSError:
        return False


def crlf(data: bytes) -> bytes:
    """Every line end (CRLF, bare LF, bare CR) as CRLF."""
    return re.sub(rb"\r\n|\r|\n", b"\r\n", data)


def expected_relay_data(original: bytes) -> bytes:
    """What a next hop should receive for a message sent with SmtpClient.send:
    CRLF line ends and a final CRLF."""
    d = crlf(original)
    if not d.endswith(b"\r\n"):
        d += b"\r\n"
    return d


def is_8bit(data: bytes) -> bool:
    return any(b >= 0x80 for b in data)


_QID = re.compile(r"queued as ([A-Za-z0-9._-]+)")


def qid_from_reply(text: str) -> Optional[str]:
    m = _QID.search(text)
    return m.group(1) if m else None


class SmtpRejected(Exception):
    def __init__(self, stage: str, code: int, text: str):
        super().__init__(f"{stage}: {code} {text}")
        self.stage, self.code, self.text = stage, code, text


class SmtpClient:
    """smtplib session that can send several messages over one connection.

    send() normalises line ends to CRLF (smtplib passes bytes unchanged and
    only dot-stuffs), adds BODY=8BITMIME for 8-bit data and returns the
    (code, text) of the reply to the end of data."""

    def __init__(self, host: str, port: int, timeout: float = 60, helo: str = "client.test"):
        self.smtp = smtplib.SMTP(host, port, local_hostname=helo, timeout=timeout)
        code, _ = self.smtp.ehlo()
        if code != 250:
            raise SmtpRejected("EHLO", code, "")

    def send(self, sender: str, recipients: list[str], data: bytes, normalise: bool = True) -> tuple[int, str]:
        if normalise:
            data = crlf(data)
        s = self.smtp
        opts = []
        if is_8bit(data) and s.has_extn("8bitmime"):
            opts.append("BODY=8BITMIME")
        code, text = s.mail(sender, opts)
        if code != 250:
            s.rset()
            raise SmtpRejected("MAIL", code, text.decode(errors="replace"))
        for r in recipients:
            code, text = s.rcpt(r)
            if code not in (250, 251):
                s.rset()
                raise SmtpRejected("RCPT", code, text.decode(errors="replace"))
        code, text = s.data(data)
        text = text.decode(errors="replace")
        if code != 250:
            raise SmtpRejected("DATA", code, text)
        return code, text

    def close(self) -> None:
        try:
            self.smtp.quit()
        except Exception:
            try:
                self.smtp.close()
            except Exception:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def send_message(host: str, port: int, sender: str, recipients: list[str], data: bytes,
                 timeout: float = 60) -> tuple[int, str]:
    with SmtpClient(host, port, timeout=timeout) as c:
        return c.send(sender, recipients, data)


def make_message(subject: str, body: str = "test body\r\n", headers: Optional[dict] = None,
                 sender: str = "sender@example.org", to: str = "rcpt@example.com") -> bytes:
    h = {"From": sender, "To": to, "Subject": subject,
         "Message-ID": f"<{time.time_ns()}.{random.randrange(1 << 30)}@client.test>"}
    h.update(headers or {})
    return ("".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n" + body).encode()


@dataclass
class Reply:
    code: int
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def __str__(self) -> str:
        return f"{self.code} {' | '.join(self.lines)}"


class RawSmtp:
    """A raw socket SMTP peer for dialogues that smtplib will not produce."""

    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.buf = b""
        self.closed = False
        self.transcript: list[str] = []

    def send(self, data: bytes) -> None:
        self.transcript.append(f"C: {data[:200]!r}{'...' if len(data) > 200 else ''}")
        self.sock.sendall(data)

    def _fill(self, timeout: float) -> bool:
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            self.closed = True
            return False
        self.buf += chunk
        return True

    def read_reply(self, timeout: Optional[float] = None) -> Optional[Reply]:
        """One (possibly multi-line) reply; None if the peer closed or timed out."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        lines = []
        while True:
            while b"\n" not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0 or self.closed or not self._fill(left):
                    if lines:
                        self.transcript.append(f"S: (partial) {lines}")
                    return None
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.rstrip(b"\r").decode("utf-8", errors="replace")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                try:
                    code = int(line[:3])
                except ValueError:
                    code = -1
                r = Reply(code, lines)
                self.transcript.append(f"S: {r}")
                return r

    def cmd(self, line: str | bytes, timeout: Optional[float] = None) -> Optional[Reply]:
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.read_reply(timeout)

    def wait_closed(self, timeout: float = 5.0) -> bool:
        """True if the server closes the connection within timeout (any pending
        replies are consumed into the transcript)."""
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            if self._fill(deadline - time.monotonic()):
                continue
        return self.closed

    def starttls(self, server_hostname: str = "gatehouse.test") -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock.settimeout(self.timeout)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)
        self.buf = b""

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------
# unittest base


class IntegrationTest(unittest.TestCase):
    """Gives each test a work directory and starts peers with automatic cleanup."""

    workdir: Path

    def setUp(self) -> None:
        self.workdir = make_workdir(f"gh-{self.__class__.__name__}-")
        self.addCleanup(remove_workdir, self.workdir)

    def require_gatehouse(self) -> None:
        if not gatehouse_bin().exists():
            self.skipTest(f"{gatehouse_bin()} not built")

    def start_sink(self, **kw) -> SmtpSink:
        sink = SmtpSink(self.workdir, **kw)
        self.addCleanup(sink.stop)
        return sink.start()

    def start_gatehouse(self, **kw) -> Gatehouse:
        gh = Gatehouse(self.workdir, **kw)
        self.addCleanup(self._stop_and_report, gh)
        return gh.start()

    def _stop_and_report(self, gh: Gatehouse) -> None:
        crashed = gh.proc is not None and not gh.proc.alive()
        rc = gh.proc.returncode if gh.proc is not None else None
        gh.stop()
        if crashed:
            log(f"[harness] {gh.name} had exited by itself with {rc}; log tail:\n{gh.log_tail()}")
        if crashed and rc is not None and rc < 0:
            raise AssertionError(f"{gh.name} died from signal {-rc}")

    def start_nsd(self, zones: dict) -> Nsd:
        nsd = Nsd(self.workdir, zones)
        self.addCleanup(nsd.stop)
        return nsd.start()
