"""STARTTLS with a real client (swaks) and a listener that demands TLS."""

import unittest

import harness as h


def swaks(port: int, *extra, timeout: float = 60):
    argv = [h.SWAKS, "--server", h.LOOPBACK, "--port", str(port), "--helo", "swaks.test",
            "--from", "tls-sender@origin.test", "--to", "tls-rcpt@dest.test",
            "--header", "Subject: swaks tls test", "--body", "sent over TLS\n",
            "--timeout", "20", *extra]
    return h.run(argv, timeout=timeout)


class TlsTest(h.IntegrationTest):
    def setUp(self):
        super().setUp()
        self.require_gatehouse()
        self.sink = self.start_sink()
        self.gh = self.start_gatehouse(
            listeners=[{"name": "inbound", "tls": "optional"},
                       {"name": "secure", "tls": "required"}],
            routes=[{"domain": "*", "next_hop": self.sink.address, "tls": "none"}],
        )

    def _qid(self, r) -> str:
        out = r.stdout.decode(errors="replace")
        qid = h.qid_from_reply(out)
        self.assertIsNotNone(qid, out[-2000:])
        return qid

    def test_swaks_starttls(self):
        r = swaks(self.gh.port, "--tls")
        self.assertEqual(r.returncode, 0, r.stdout.decode(errors="replace")[-3000:])
        qid = self._qid(r)
        ev = self.gh.wait_events(
            lambda evs: [e for e in evs if e.get("event") == "received" and e.get("qid") == qid],
            timeout=10, what="the received event")[0]
        self.assertRegex(ev.get("tls", ""), r"TLSv1\.[23]", f"received event: {ev}")
        self.assertEqual(self.sink.wait_count(1, timeout=30), 1)
        m = self.sink.messages()[0]
        self.assertEqual(m.recipients, ["tls-rcpt@dest.test"])
        received, _ = h.split_first_header(m.data)
        self.assertRegex(received.decode(errors="replace"), r"(?i)ESMTPS|TLS",
                         "the Received header does not say the session was encrypted")

    def test_plain_session_has_no_tls(self):
        r = swaks(self.gh.port)
        self.assertEqual(r.returncode, 0, r.stdout.decode(errors="replace")[-3000:])
        qid = self._qid(r)
        ev = self.gh.wait_events(
            lambda evs: [e for e in evs if e.get("event") == "received" and e.get("qid") == qid],
            timeout=10, what="the received event")[0]
        self.assertIn(ev.get("tls", "none"), ("", "none"), ev)

    def test_required_listener(self):
        port = self.gh.listener_port("secure")
        with h.RawSmtp(h.LOOPBACK, port) as s:
            self.assertEqual(s.read_reply().code, 220)
            r = s.cmd("EHLO client.test")
            self.assertEqual(r.code, 250)
            self.assertIn("STARTTLS", r.text.upper())
            r = s.cmd("MAIL FROM:<plain@origin.test>")
            self.assertEqual(r.code, 530, str(r))
        # Without TLS swaks fails, with it swaks succeeds.
        r = swaks(port)
        self.assertNotEqual(r.returncode, 0, "plaintext mail accepted on a tls=required listener")
        r = swaks(port, "--tls")
        self.assertEqual(r.returncode, 0, r.stdout.decode(errors="replace")[-3000:])
        self.assertEqual(self.sink.wait_count(1, timeout=30), 1)


if __name__ == "__main__":
    unittest.main()
