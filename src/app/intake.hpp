// The Intake behind the SMTP server (smtp/intake.hpp): spool, then the
// pipeline (analyse, decide), then the queue. This is where the path of
// DESIGN.md is wired: listen -> spool -> analyse -> decide -> queue.
//
// Mixed outcomes after DATA: SMTP gives one reply for the whole message, so
// when some recipients are accepted the answer is 250 and the others are
// handled here (discarded, or held) and recorded as events.
#pragma once

#include "config/config.hpp"
#include "events/event.hpp"
#include "pipeline/stage.hpp"
#include "queue/manager.hpp"
#include "queue/spool.hpp"
#include "smtp/intake.hpp"

namespace gatehouse::app {

class SpoolIntake final : public smtp::Intake {
  public:
    SpoolIntake(const config::Config& config, queue::Spool& spool,
                const pipeline::Pipeline& pipeline, queue::Manager& manager, events::Sink& events);

    Result<std::unique_ptr<smtp::MessageWriter>> open(const Envelope& env) override;
    boost::asio::awaitable<smtp::IntakeResult> finish(std::unique_ptr<smtp::MessageWriter> writer,
                                                      Envelope env) override;
    void abandon(std::unique_ptr<smtp::MessageWriter> writer) override;

    // Start-up recovery: complete files left in incoming/ were synced before
    // a crash; the client may have had its 250, so they are decided and
    // queued now. Partial files are removed (no 250 was ever sent for them).
    void recover_incoming();

  private:
    // Runs the pipeline for a committed file in incoming/ and moves it on.
    smtp::IntakeResult decide_and_queue(const std::string& queue_id, bool recovering);

    const config::Config& config_;
    queue::Spool& spool_;
    const pipeline::Pipeline& pipeline_;
    queue::Manager& manager_;
    events::Sink& events_;
};

}  // namespace gatehouse::app
