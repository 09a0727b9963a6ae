"""Relays the real-mail corpus through the server to smtp-sink, byte for byte.

Every file of ../shared/corpus/spamassassin-public-corpus/*/ and
../shared/corpus/phishing_pot/*/ is sent with smtplib (8 client threads) with
a unique envelope sender; each must arrive at the sink once, with the same
envelope and the same bytes as sent, once the server's own Received header
(the first one, naming gatehouse) is taken off.

A leading mbox separator line ("From addr date", on most SpamAssassin files)
is not part of the message and is dropped before sending.
Line ends are normalised to CRLF before sending (bare CR and bare LF included),
since that is what SMTP carries; smtp-sink writes lines with LF, and the
harness turns them back into CRLF.

Environment:
  GATEHOUSE_CORPUS_LIMIT=N   send only the first N files (quick runs)
  GATEHOUSE_SUT=postfix      run against a private Postfix instead (validates
                             the harness itself; Postfix folds long lines)
"""

import os
import queue
import threading
import time
import unittest
from collections import defaultdict
from pathlib import Path

import harness as h

SETS = ("spamassassin-public-corpus", "phishing_pot")
THREADS = 8
SEND_DEADLINE_S = 900
DELIVERY_DEADLINE_S = 300


def corpus_files() -> list[Path]:
    root = h.corpus_dir()
    files = []
    for name in SETS:
        base = root / name
        # Only files inside the set's subfolders: the top level holds docs.
        files += sorted(p for p in base.rglob("*") if p.is_file() and p.parent != base)
    limit = int(os.environ.get("GATEHOUSE_CORPUS_LIMIT", "0") or 0)
    return files[:limit] if limit > 0 else files


def load_message(path: Path) -> bytes:
    data = path.read_bytes()
    if data.startswith(b"From "):  # mbox "From_" separator, not a header
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
    return data


def max_line(data: bytes) -> int:
    return max((len(l) for l in data.split(b"\r\n")), default=0)


def first_difference(a: bytes, b: bytes) -> str:
    al, bl = a.split(b"\r\n"), b.split(b"\r\n")
    for i, (x, y) in enumerate(zip(al, bl)):
        if x != y:
            return f"line {i + 1}: sent {x[:120]!r} got {y[:120]!r}"
    return f"line counts differ: sent {len(al)} got {len(bl)}"


class CorpusRelayTest(h.IntegrationTest):
    def test_corpus_relays_byte_identical(self):
        files = corpus_files()
        self.assertGreater(len(files), 0, f"no corpus under {h.corpus_dir()}")
        sink = self.start_sink()
        sut_kind = os.environ.get("GATEHOUSE_SUT", "gatehouse")
        if sut_kind == "postfix":
            sut = h.Postfix(self.workdir, relay=sink.address,
                            extra_main={"local_header_rewrite_clients": "static:none",
                                        "message_drop_headers": ""})
            self.addCleanup(sut.stop)
            sut.start()
        else:
            self.require_gatehouse()
            sut = self.start_gatehouse(
                routes=[{"domain": "*", "next_hop": sink.address, "tls": "none"}],
                limits={"max_message_size": "60M"},
                queue={"retry": ["2s"]},
            )

        originals = {i: load_message(p) for i, p in enumerate(files)}
        expected = {i: h.expected_relay_data(b) for i, b in originals.items()}
        envelope = {}
        for i, p in enumerate(files):
            rcpts = [f"rcpt-{i}@dest.test"]
            if i % 7 == 0:
                rcpts.append(f"cc-{i}@dest.test")
            envelope[i] = (f"corpus-{i}@sender.test", rcpts)

        work: "queue.Queue[int]" = queue.Queue()
        for i in originals:
            work.put(i)
        accepted: dict[int, str] = {}
        refused: dict[int, str] = {}
        lock = threading.Lock()
        deadline = time.monotonic() + SEND_DEADLINE_S
        t0 = time.monotonic()

        def worker():
            client = None
            while time.monotonic() < deadline:
                try:
                    i = work.get_nowait()
                except queue.Empty:
                    break
                for attempt in range(2):
                    try:
                        if client is None:
                            client = h.SmtpClient(sut.host, sut.port, timeout=120)
                        sender, rcpts = envelope[i]
                        _, text = client.send(sender, rcpts, originals[i])
                        with lock:
                            accepted[i] = text
                        break
                    except h.SmtpRejected as e:
                        with lock:
                            refused[i] = str(e)
                        break
                    except (OSError, h.smtplib.SMTPException) as e:
                        if client is not None:
                            client.close()
                        client = None
                        if attempt == 1:
                            with lock:
                                refused[i] = f"connection: {e!r}"
            if client is not None:
                client.close()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(1, deadline - time.monotonic()) + 30)
        t_sent = time.monotonic()
        self.assertFalse(any(t.is_alive() for t in threads), "client threads did not finish in time")

        got_count = sink.wait_count(len(accepted), timeout=DELIVERY_DEADLINE_S)
        t_done = time.monotonic()

        by_sender = defaultdict(list)
        for m in sink.messages():
            by_sender[m.sender].append(m)

        missing, dups, wrong_env, not_stripped, mismatched = [], [], [], [], []
        identical = 0
        for i in sorted(accepted):
            sender, rcpts = envelope[i]
            msgs = by_sender.get(sender, [])
            if not msgs:
                missing.append(i)
                continue
            got_rcpts = sorted(r for m in msgs for r in m.recipients)
            if got_rcpts != sorted(rcpts):
                (dups if len(got_rcpts) > len(rcpts) else wrong_env).append(i)
            ok = True
            for m in msgs:
                data, stripped = h.strip_first_received(m.data, sut.received_marker)
                if not stripped:
                    not_stripped.append(i)
                if data != expected[i]:
                    ok = False
            if ok:
                identical += 1
            else:
                mismatched.append(i)
        unexpected = [s for s in by_sender if not s.startswith("corpus-")]

        eight_bit = sum(1 for b in originals.values() if h.is_8bit(b))
        long_lines = {i for i, b in expected.items() if max_line(b) > 998}
        h.log(
            f"\ncorpus relay via {sut_kind}: files={len(files)} (8-bit {eight_bit}, "
            f"lines>998 {len(long_lines)}) accepted={len(accepted)} refused={len(refused)} "
            f"sink_files={got_count} identical={identical} missing={len(missing)} "
            f"duplicated={len(dups)} wrong_envelope={len(wrong_env)} "
            f"mismatched={len(mismatched)} (of which long-line {len(long_lines & set(mismatched))}) "
            f"no_received={len(set(not_stripped))} unexpected_senders={len(unexpected)}\n"
            f"  send {t_sent - t0:.1f}s ({len(accepted) / max(t_sent - t0, 1e-9):.0f} msg/s), "
            f"all at sink after {t_done - t0:.1f}s")
        for i in list(refused)[:10]:
            h.log(f"  refused {files[i]}: {refused[i]}")
        for i in mismatched[:10]:
            m = by_sender[envelope[i][0]][0]
            data, _ = h.strip_first_received(m.data, sut.received_marker)
            h.log(f"  mismatch {files[i]}: {first_difference(expected[i], data)}")
        for i in missing[:10]:
            h.log(f"  missing {files[i]}")

        self.assertEqual(refused, {}, "the server refused corpus messages")
        self.assertEqual(missing, [], "accepted messages never reached the sink")
        self.assertEqual(dups, [], "messages delivered more than once")
        self.assertEqual(wrong_env, [], "wrong envelope recipients at the sink")
        self.assertEqual(sorted(set(not_stripped)), [],
                         f"first header is not a Received naming {sut.received_marker!r}")
        self.assertEqual(mismatched, [], "message bytes changed in transit")
        self.assertEqual(unexpected, [], "the sink got messages nobody sent")
        self.assertEqual(identical, len(files))


if __name__ == "__main__":
    unittest.main()
