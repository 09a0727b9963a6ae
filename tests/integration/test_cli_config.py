"""The command line: check-config, serve with a bad config, and the queue commands.

A config problem is reported as exactly one line "config: KEY: PROBLEM" on
stderr with a non-zero exit, by check-config and by serve alike. The queue
commands are run against a live server whose next hop is down, so messages
stay in the queue long enough to be listed, shown, held, released, deleted
and flushed.
"""

import os
import pwd
import signal
import time
import unittest

import harness as h

# (name, TOML text, key named in the error line)
BAD_CONFIGS = [
    ("unknown key", '[server]\nhostname = "gh.test"\nbogus = 1\n', "server.bogus"),
    ("unknown table", '[frobnicate]\nx = 1\n', "frobnicate"),
    ("bad duration", '[queue]\nlifetime = "5 fortnights"\n', "queue.lifetime"),
    ("bad retry item", '[queue]\nretry = ["1s", "soon"]\n', "queue.retry[1]"),
    ("bad port", '[[listener]]\nname = "in"\naddress = "127.0.0.1:99999"\n', "listener[0].address"),
    ("missing port", '[[listener]]\nname = "in"\naddress = "127.0.0.1"\n', "listener[0].address"),
    ("bad tls mode", '[[listener]]\naddress = "127.0.0.1:2525"\ntls = "maybe"\n', "listener[0].tls"),
    ("route without next hop", '[[route]]\ndomain = "x.test"\n', "route[0].next_hop"),
    ("bad network", '[accept]\ntrusted_networks = ["10.0.0.0/33"]\n', "accept.trusted_networks[0]"),
    ("wrong type", '[limits]\nmax_recipients = "many"\n', "limits.max_recipients"),
    ("bad size", '[limits]\nmax_message_size = "10 parsecs"\n', "limits.max_message_size"),
    ("bad resolver", '[dns]\nresolver = "127.0.0.1:0"\n', "dns.resolver"),
]


def one_config_line(stderr: bytes) -> list[str]:
    return [l for l in stderr.decode(errors="replace").splitlines() if l.strip()]


class CheckConfigTest(h.IntegrationTest):
    def setUp(self):
        super().setUp()
        self.require_gatehouse()

    def test_good_config_passes(self):
        gh = h.Gatehouse(self.workdir, routes=[{"domain": "*", "next_hop": "127.0.0.1:2526"}],
                         queue={"lifetime": "96h", "retry": ["1m", "5m", "15m"]},
                         limits={"max_message_size": "50M", "idle_timeout": "5m"})
        path = gh.write_config()
        r = h.run([h.gatehouse_bin(), "check-config", path], timeout=30, cwd=self.workdir)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))

    def test_bad_configs_name_the_key(self):
        for name, text, key in BAD_CONFIGS:
            with self.subTest(name):
                path = self.workdir / f"bad-{name.replace(' ', '-')}.toml"
                path.write_text(text)
                r = h.run([h.gatehouse_bin(), "check-config", path], timeout=30, cwd=self.workdir)
                lines = one_config_line(r.stderr)
                self.assertNotEqual(r.returncode, 0, f"{name}: accepted")
                self.assertEqual(len(lines), 1, f"{name}: stderr {lines}")
                self.assertTrue(lines[0].startswith(f"config: {key}: "), f"{name}: {lines[0]!r}")

    def test_toml_syntax_error(self):
        path = self.workdir / "syntax.toml"
        path.write_text('[server\nhostname = "x"\n')
        r = h.run([h.gatehouse_bin(), "check-config", path], timeout=30, cwd=self.workdir)
        lines = one_config_line(r.stderr)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("config: ") and "line 1" in lines[0], lines[0])

    def test_missing_file(self):
        r = h.run([h.gatehouse_bin(), "check-config", self.workdir / "nope.toml"], timeout=30,
                  cwd=self.workdir)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(len(one_config_line(r.stderr)), 1, r.stderr)

    def test_serve_refuses_bad_config(self):
        name, text, key = BAD_CONFIGS[2]
        path = self.workdir / "serve-bad.toml"
        path.write_text(text)
        r = h.run([h.gatehouse_bin(), "serve", "--config", path], timeout=30, cwd=self.workdir)
        self.assertNotEqual(r.returncode, 0)
        lines = one_config_line(r.stderr)
        self.assertTrue(any(l.startswith(f"config: {key}: ") for l in lines), lines)


class QueueCliTest(h.IntegrationTest):
    def test_queue_commands_with_next_hop_down(self):
        self.require_gatehouse()
        dead = h.free_port()
        gh = self.start_gatehouse(
            routes=[{"domain": "*", "next_hop": f"127.0.0.1:{dead}", "tls": "none"}],
            queue={"retry": ["1h"], "connect_timeout": "2s"},
        )
        qids = []
        with h.SmtpClient(gh.host, gh.port) as c:
            for i in range(3):
                _, text = c.send(f"s{i}@origin.test", [f"r{i}@down.test"],
                                 h.make_message(f"queued {i}"))
                qids.append(h.qid_from_reply(text))
        a, b, c_ = qids
        self.assertTrue(all(qids), qids)

        def deferred(ev):
            return {e.get("qid") for e in ev if e.get("event") == "deferred"}

        gh.wait_events(lambda ev: set(qids) <= deferred(ev), timeout=30,
                       what="the first attempt of each message to fail")

        # list
        listed = {h.qid_of(m): m for m in gh.queue_messages()}
        self.assertEqual(set(listed), set(qids))
        for q in qids:
            self.assertEqual(listed[q].get("state"), "deferred", listed[q])
        text = gh.queue("list", as_json=False)
        self.assertEqual(text.returncode, 0, text.stderr)
        for q in qids:
            self.assertIn(q, text.stdout.decode(errors="replace"))

        # show
        shown = gh.queue("show", a)
        self.assertEqual(h.qid_of(shown), a)
        self.assertEqual(shown.get("sender"), "s0@origin.test")
        self.assertEqual([r.get("address") for r in shown.get("recipients", [])], ["r0@down.test"])
        self.assertGreaterEqual(shown.get("attempts", 0), 1)
        missing = gh.queue("show", "NOSUCHQUEUEID", as_json=False)
        self.assertNotEqual(missing.returncode, 0, "show of an unknown id succeeded")

        # hold / release
        self.assertEqual(gh.queue("hold", a, as_json=False).returncode, 0)
        gh.wait_events(lambda ev: any(e.get("event") == "held" and e.get("qid") == a for e in ev),
                       timeout=10, what="a held event")
        self.assertEqual({h.qid_of(m): m.get("state") for m in gh.queue_messages()}[a], "hold")
        self.assertEqual(gh.queue("release", a, as_json=False).returncode, 0)
        gh.wait_events(lambda ev: any(e.get("event") == "released" and e.get("qid") == a for e in ev),
                       timeout=10, what="a released event")
        self.assertNotEqual({h.qid_of(m): m.get("state") for m in gh.queue_messages()}[a], "hold")

        # delete
        self.assertEqual(gh.queue("delete", b, as_json=False).returncode, 0)
        gh.wait_events(lambda ev: any(e.get("event") == "deleted" and e.get("qid") == b for e in ev),
                       timeout=10, what="a deleted event")
        self.assertNotIn(b, {h.qid_of(m) for m in gh.queue_messages()})
        self.assertNotEqual(gh.queue("delete", b, as_json=False).returncode, 0,
                            "deleting a deleted message succeeded")

        # flush: an attempt now, although the retry schedule says in an hour
        before = len([e for e in gh.events("deferred") if e.get("qid") == c_])
        self.assertEqual(gh.queue("flush", as_json=False).returncode, 0)
        gh.wait_events(lambda ev: len([e for e in ev if e.get("event") == "deferred"
                                       and e.get("qid") == c_]) > before,
                       timeout=15, what="flush to cause a new attempt")
        remaining = {h.qid_of(m) for m in gh.queue_messages()}
        self.assertEqual(remaining, {a, c_})


if __name__ == "__main__":
    unittest.main()


class GracefulStopTest(h.IntegrationTest):
    def test_sigterm_finishes_the_message_in_data_then_answers_421(self):
        self.require_gatehouse()
        sink = self.start_sink()
        gh = self.start_gatehouse(
            routes=[{"domain": "*", "next_hop": sink.address, "tls": "none"}])
        busy = h.RawSmtp(gh.host, gh.port, timeout=10)
        idle = h.RawSmtp(gh.host, gh.port, timeout=10)
        self.addCleanup(busy.close)
        self.addCleanup(idle.close)
        for s in (busy, idle):
            self.assertEqual(s.read_reply().code, 220)
            self.assertEqual(s.cmd("EHLO stop.test").code, 250)
        self.assertEqual(busy.cmd("MAIL FROM:<a@stop.test>").code, 250)
        self.assertEqual(busy.cmd("RCPT TO:<b@example.com>").code, 250)
        self.assertEqual(busy.cmd("DATA").code, 354)
        busy.send(b"Subject: in flight at SIGTERM\r\n\r\nfirst half\r\n")
        gh.proc._signal_group(signal.SIGTERM)
        time.sleep(0.5)
        # The message in progress is still received and acknowledged...
        r = busy.cmd(b"second half\r\n.\r\n")
        self.assertIsNotNone(r)
        self.assertEqual(r.code, 250, r)
        # ...and every session's next command gets 421, then the server exits.
        self.assertEqual(busy.cmd("NOOP").code, 421)
        self.assertEqual(idle.cmd("NOOP").code, 421)
        h.wait_until(lambda: not gh.alive(), timeout=15, what="gatehouse to exit")
        self.assertEqual(gh.proc.returncode if gh.proc else 0, 0)


class DropPrivilegesTest(h.IntegrationTest):
    def test_server_user_switches_after_binding_and_still_relays(self):
        self.require_gatehouse()
        if os.geteuid() != 0:
            self.skipTest("needs root to start, like a real deployment on port 25")
        sink = self.start_sink()
        gh = h.Gatehouse(self.workdir, server={"user": "nobody"},
                         routes=[{"domain": "*", "next_hop": sink.address, "tls": "none"}])
        self.addCleanup(gh.stop)
        # The data directory's parents must be reachable by the user.
        os.chmod(self.workdir, 0o755)
        os.chmod(gh.dir, 0o755)
        gh.start()
        nobody = pwd.getpwnam("nobody").pw_uid
        with open(f"/proc/{gh.proc.pid}/status") as f:
            uids = next(line for line in f if line.startswith("Uid:")).split()[1:]
        self.assertEqual(set(map(int, uids)), {nobody}, f"still privileged: {uids}")
        with h.SmtpClient(gh.host, gh.port) as c:
            code, text = c.send("a@priv.test", ["b@example.com"], h.make_message("as nobody"))
        self.assertEqual(code, 250, text)
        self.assertEqual(sink.wait_count(1, timeout=20), 1)
        self.assertEqual(os.stat(gh.data_dir / "spool" / "active").st_uid, nobody)
