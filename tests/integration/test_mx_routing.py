"""Delivery by MX lookup against a real DNS server (nsd) on loopback.

Routes say next_hop = "mx"; [dns] resolver points at nsd; queue.mx_port
points at the sink, since MX hosts are always contacted on one port.
"""

import unittest

import harness as h

ZONES = {
    # An MX pointing at a name with A 127.0.0.1.
    "mx-test.example": ["@ IN MX 10 mail1", "mail1 IN A 127.0.0.1"],
    # The preferred MX refuses connections (nothing on 127.0.0.2), the next one works.
    "fallback.example": ["@ IN MX 10 dead", "@ IN MX 20 live",
                         "dead IN A 127.0.0.2", "live IN A 127.0.0.1"],
    # No MX at all: the domain's own A record is the implicit MX (RFC 5321 5.1).
    "implicit.example": ["@ IN A 127.0.0.1"],
}


class MxRoutingTest(h.IntegrationTest):
    def setUp(self):
        super().setUp()
        self.require_gatehouse()
        self.sink = self.start_sink()
        self.nsd = self.start_nsd(ZONES)
        self.gh = self.start_gatehouse(
            routes=[{"domain": "*", "next_hop": "mx", "tls": "none"}],
            dns={"resolver": self.nsd.address},
            queue={"mx_port": self.sink.port, "retry": ["1s"], "connect_timeout": "3s"},
        )

    def _deliver(self, rcpt: str):
        _, text = h.send_message(self.gh.host, self.gh.port, "mx-sender@origin.test", [rcpt],
                                 h.make_message(f"mx routing to {rcpt}", to=rcpt))
        qid = h.qid_from_reply(text)
        try:
            h.wait_until(lambda: [m for m in self.sink.messages() if rcpt in m.recipients],
                         timeout=30, what=f"{rcpt} at the sink")
        except TimeoutError:
            self.fail(f"{rcpt} not delivered; events: "
                      f"{[e for e in self.gh.events() if e.get('qid') == qid]}\n{self.gh.log_tail()}")
        got = [m for m in self.sink.messages() if rcpt in m.recipients]
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0].sender, "mx-sender@origin.test")
        delivered = self.gh.wait_events(
            lambda ev: [e for e in ev if e.get("event") == "delivered" and e.get("qid") == qid],
            timeout=10, what="the delivered event")
        self.assertIn("127.0.0.1", delivered[0].get("remote", ""), delivered[0])
        return delivered[0]

    def test_mx_record(self):
        self._deliver("user@mx-test.example")

    def test_falls_back_to_next_mx(self):
        self._deliver("user@fallback.example")

    def test_implicit_mx(self):
        self._deliver("user@implicit.example")


if __name__ == "__main__":
    unittest.main()
