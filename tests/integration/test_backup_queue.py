"""The queue as a backup: next hop down, messages wait, nothing is lost.

1. The sink is down while 50 messages arrive: all get 250, all are deferred
   (events and `gatehouse queue list`), then the sink comes back and every
   message is delivered exactly once, in batches (several messages per
   connection, all within a short window).
2. A route to a dead port with a 6 s queue lifetime: the sender gets an
   RFC 3464 DSN at the sink (null envelope sender, multipart/report with a
   message/delivery-status part), and a message whose sender was <> expires
   without any DSN.
"""

import time
import unittest
from collections import Counter

import harness as h

N_MESSAGES = 50


def qids_of(events, kind):
    return {e.get("qid") for e in events if e.get("event") == kind and e.get("qid")}


class BackupQueueTest(h.IntegrationTest):
    def test_next_hop_down_then_back(self):
        self.require_gatehouse()
        sink = h.SmtpSink(self.workdir)  # port reserved, not started: the next hop is down
        self.addCleanup(sink.stop)
        gh = self.start_gatehouse(
            routes=[{"domain": "*", "next_hop": sink.address, "tls": "none"}],
            queue={"retry": ["2s"], "connect_timeout": "2s"},
        )

        qids = {}
        with h.SmtpClient(gh.host, gh.port) as c:
            for seq in range(N_MESSAGES):
                msg = h.make_message(f"backup {seq}", headers={"X-Seq": str(seq)},
                                     to="user@backup.test")
                code, text = c.send("sender@origin.test", ["user@backup.test"], msg)
                self.assertEqual(code, 250, text)
                qid = h.qid_from_reply(text)
                self.assertIsNotNone(qid, f"no queue id in {text!r}")
                qids[qid] = seq
        self.assertEqual(len(qids), N_MESSAGES, "queue ids are not unique")

        # All deferred: seen in the events and in the queue listing.
        gh.wait_events(lambda ev: set(qids) <= qids_of(ev, "deferred"), timeout=30,
                       what="a deferred event for every message")
        listed = gh.queue_messages()
        listed_ids = {h.qid_of(m) for m in listed}
        self.assertTrue(set(qids) <= listed_ids,
                        f"queue list misses {sorted(set(qids) - listed_ids)[:5]}")
        states = Counter(m.get("state") for m in listed)
        self.assertTrue(set(states) <= {"deferred", "active"}, f"states {states}")
        self.assertEqual(sink.count(), 0)

        # The next hop comes back.
        t_up = time.time()
        sink.start()
        got = sink.wait_count(N_MESSAGES, timeout=60, settle=2.0)
        self.assertEqual(got, N_MESSAGES, f"sink got {got} of {N_MESSAGES}\n{gh.log_tail()}")

        seqs = Counter(int(m.header("X-Seq")) for m in sink.messages())
        self.assertEqual(sorted(seqs), list(range(N_MESSAGES)), "a message is missing")
        self.assertEqual([s for s, c in seqs.items() if c > 1], [], "duplicates at the sink")

        gh.wait_events(lambda ev: set(qids) <= qids_of(ev, "delivered"), timeout=15,
                       what="a delivered event for every message")
        events = gh.events()
        delivered = [e for e in events if e.get("event") == "delivered" and e.get("qid") in qids]
        times = sorted(e["time_ms"] for e in delivered)
        span_s = (times[-1] - times[0]) / 1000.0
        after_up_s = (times[-1] / 1000.0) - t_up
        counters = sink.counters()
        h.log(f"\nbackup queue: {N_MESSAGES} deferred, delivered after recovery in "
              f"{span_s:.2f}s (last {after_up_s:.2f}s after the sink came up); "
              f"sink sessions={counters.get('sess')} messages={counters.get('mesg')}")
        # Batches: the backlog goes out together, not one message per retry tick,
        # and over reused connections.
        self.assertLess(span_s, 10.0, "the backlog trickled out instead of being flushed")
        if counters:
            self.assertLess(counters["sess"], N_MESSAGES,
                            "every message used its own connection to the next hop")
        self.assertEqual(gh.queue_messages(), [], "the queue is not empty after delivery")

    def test_expiry_sends_dsn_except_to_null_sender(self):
        self.require_gatehouse()
        sink = self.start_sink()
        dead = h.free_port()  # nothing listens here
        gh = self.start_gatehouse(
            routes=[{"domain": "dead.test", "next_hop": f"127.0.0.1:{dead}", "tls": "none"},
                    {"domain": "*", "next_hop": sink.address, "tls": "none"}],
            queue={"lifetime": "6s", "retry": ["1s"], "connect_timeout": "2s"},
        )
        with h.SmtpClient(gh.host, gh.port) as c:
            _, text = c.send("alice@origin.test", ["bob@dead.test"],
                             h.make_message("will expire", sender="alice@origin.test",
                                            to="bob@dead.test"))
            qid_a = h.qid_from_reply(text)
            _, text = c.send("", ["carol@dead.test"],
                             h.make_message("bounce of a bounce", sender="MAILER-DAEMON@origin.test",
                                            to="carol@dead.test"))
            qid_b = h.qid_from_reply(text)
        self.assertTrue(qid_a and qid_b)

        def gone(ev, qid):
            return any(e.get("qid") == qid and e.get("event") in ("expired", "bounced") for e in ev)

        gh.wait_events(lambda ev: gone(ev, qid_a) and gone(ev, qid_b), timeout=60,
                       what="both messages to expire")
        got = sink.wait_count(1, timeout=30, settle=3.0)
        self.assertEqual(got, 1, f"expected exactly one DSN at the sink, got {got}")
        dsn = sink.messages()[0]

        self.assertEqual(dsn.sender, "", "a DSN must have the null envelope sender")
        self.assertEqual(dsn.recipients, ["alice@origin.test"])
        msg = dsn.parsed()
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual((msg.get_param("report-type") or "").lower(), "delivery-status")
        parts = msg.get_payload()
        self.assertGreaterEqual(len(parts), 2)
        self.assertEqual(parts[0].get_content_type(), "text/plain")
        status_parts = [p for p in msg.walk() if p.get_content_type() == "message/delivery-status"]
        self.assertEqual(len(status_parts), 1, "no message/delivery-status part")
        blocks = status_parts[0].get_payload()  # per-message block, then per-recipient blocks
        self.assertGreaterEqual(len(blocks), 2, "delivery-status needs a recipient block")
        self.assertTrue(blocks[0].get("Reporting-MTA", "").lower().startswith("dns;"),
                        f"Reporting-MTA: {blocks[0].get('Reporting-MTA')!r}")
        rcpt = blocks[1]
        self.assertIn("bob@dead.test", rcpt.get("Final-Recipient", ""))
        self.assertTrue(rcpt.get("Final-Recipient", "").lower().startswith("rfc822;"))
        self.assertEqual(rcpt.get("Action", "").strip().lower(), "failed")
        self.assertRegex(rcpt.get("Status", "").strip(), r"^[45]\.\d{1,3}\.\d{1,3}$")

        # Nothing for the message whose sender was <>.
        time.sleep(2)
        self.assertEqual(sink.count(), 1, "a DSN was generated for a null-sender message")
        queued = [e for e in gh.events() if e.get("event") == "queued"]
        self.assertLessEqual(len(queued), 1, f"more than one DSN was queued: {queued}")

    def test_permanent_failure_sends_dsn_at_once(self):
        self.require_gatehouse()
        sink = self.start_sink()
        # A next hop that refuses every recipient with 550 5.1.1.
        rejecting = self.start_sink(name="rejecting",
                                    extra_args=["-f", "RCPT", "-B", "550 5.1.1 No such user here"])
        gh = self.start_gatehouse(
            routes=[{"domain": "reject.test", "next_hop": rejecting.address, "tls": "none"},
                    {"domain": "*", "next_hop": sink.address, "tls": "none"}],
            queue={"retry": ["1h"]},
        )
        _, text = h.send_message(gh.host, gh.port, "alice@origin.test", ["nobody@reject.test"],
                                 h.make_message("to a refusing host", sender="alice@origin.test",
                                                to="nobody@reject.test"))
        qid = h.qid_from_reply(text)
        gh.wait_events(lambda ev: any(e.get("qid") == qid and e.get("event") == "bounced" for e in ev),
                       timeout=20, what="the bounced event")
        self.assertEqual(sink.wait_count(1, timeout=20), 1, "no DSN for a 550")
        dsn = sink.messages()[0]
        self.assertEqual((dsn.sender, dsn.recipients), ("", ["alice@origin.test"]))
        status = [p for p in dsn.parsed().walk() if p.get_content_type() == "message/delivery-status"]
        self.assertEqual(len(status), 1)
        rcpt = status[0].get_payload()[1]
        self.assertEqual(rcpt.get("Action", "").strip().lower(), "failed")
        self.assertEqual(rcpt.get("Status", "").strip(), "5.1.1")
        self.assertIn("550", rcpt.get("Diagnostic-Code", ""))
        self.assertEqual(rejecting.messages(), [], "the refusing next hop got a message")


if __name__ == "__main__":
    unittest.main()
