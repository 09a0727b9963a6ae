// JSON conversion of queue summaries for the admin API (see admin_json.hpp).
//
// Trust: message_from_json reads a reply from the admin server, which a
// client cannot assume to be well-formed; a missing or mistyped field is an
// error naming the field.
#include "http/admin_json.hpp"

#include <boost/json.hpp>

namespace gatehouse::http {
namespace {

namespace json = boost::json;

json::object recipient_to_json(const queue::RecipientStatus& r) {
    return {{"address", r.address}, {"state", r.state}, {"last_reply", r.last_reply}};
}

// Reads one field of obj into out; false (and names the field in missing)
// when it is absent or of another type.
class FieldReader {
  public:
    explicit FieldReader(const json::object& obj) : obj_(obj) {}

    void text(const char* key, std::string& out) {
        const json::value* v = obj_.if_contains(key);
        if (v && v->is_string()) {
            out = std::string(v->get_string());
        } else {
            bad(key);
        }
    }

    template <class Int>
    void number(const char* key, Int& out) {
        const json::value* v = obj_.if_contains(key);
        boost::system::error_code ec;
        Int n = v ? v->to_number<Int>(ec) : Int{};
        if (v && !ec) {
            out = n;
        } else {
            bad(key);
        }
    }

    const std::string& first_bad() const { return first_bad_; }

  private:
    void bad(const char* key) {
        if (first_bad_.empty()) first_bad_ = key;
    }

    const json::object& obj_;
    std::string first_bad_;
};

Result<queue::RecipientStatus> recipient_from_json(const json::value& value) {
    if (!value.is_object()) return Error::internal("recipient is not an object");
    queue::RecipientStatus r;
    FieldReader f(value.get_object());
    f.text("address", r.address);
    f.text("state", r.state);
    f.text("last_reply", r.last_reply);
    if (!f.first_bad().empty()) {
        return Error::internal("recipient field " + f.first_bad() + " is missing or mistyped");
    }
    return r;
}

}  // namespace

json::object message_to_json(const queue::MessageSummary& m) {
    json::array recipients;
    for (const auto& r : m.recipients) recipients.push_back(recipient_to_json(r));
    return {
        {"queue_id", m.queue_id},
        {"state", m.state},
        {"sender", m.sender},
        {"size", m.size},
        {"arrival_ms", m.arrival_ms},
        {"next_attempt_ms", m.next_attempt_ms},
        {"attempts", m.attempts},
        {"last_error", m.last_error},
        {"recipients", std::move(recipients)},
    };
}

Result<queue::MessageSummary> message_from_json(const json::value& value) {
    if (!value.is_object()) return Error::internal("message is not an object");
    const json::object& obj = value.get_object();
    queue::MessageSummary m;
    FieldReader f(obj);
    f.text("queue_id", m.queue_id);
    f.text("state", m.state);
    f.text("sender", m.sender);
    f.number("size", m.size);
    f.number("arrival_ms", m.arrival_ms);
    f.number("next_attempt_ms", m.next_attempt_ms);
    f.number("attempts", m.attempts);
    f.text("last_error", m.last_error);
    if (!f.first_bad().empty()) {
        return Error::internal("message field " + f.first_bad() + " is missing or mistyped");
    }

    const json::value* recipients = obj.if_contains("recipients");
    if (!recipients || !recipients->is_array()) {
        return Error::internal("message field recipients is missing or mistyped");
    }
    for (const json::value& r : recipients->get_array()) {
        auto recipient = recipient_from_json(r);
        if (!recipient) return recipient.error();
        m.recipients.push_back(std::move(recipient).value());
    }
    return m;
}

}  // namespace gatehouse::http
