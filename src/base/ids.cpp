#include "base/ids.hpp"

#include <atomic>
#include <chrono>
#include <random>

namespace gatehouse {
namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::size_t kTimeChars = 11;
constexpr std::size_t kSeqChars = 5;

std::uint64_t random64() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return rng();
}

void put_base32(std::string& out, std::uint64_t v, std::size_t chars) {
    for (std::size_t i = 0; i < chars; ++i) {
        out[out.size() - 1 - i] = kAlphabet[v & 31];
        v >>= 5;
    }
}

int base32_value(char c) {
    for (int i = 0; i < 32; ++i)
        if (kAlphabet[i] == c) return i;
    return -1;
}

}  // namespace

std::string make_queue_id() {
    static std::atomic<std::uint64_t> sequence{random64()};
    auto now = std::chrono::system_clock::now().time_since_epoch();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
    std::string time_part(kTimeChars, '0');
    put_base32(time_part, static_cast<std::uint64_t>(us), kTimeChars);
    std::string seq_part(kSeqChars, '0');
    put_base32(seq_part, sequence.fetch_add(1, std::memory_order_relaxed), kSeqChars);
    return time_part + seq_part;
}

std::string make_session_id() {
    static constexpr char kHex[] = "0123456789abcdef";
    std::uint64_t v = random64();
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) s[i] = kHex[v & 15];
    return s;
}

bool is_queue_id(std::string_view s) {
    if (s.size() != kTimeChars + kSeqChars) return false;
    for (char c : s)
        if (base32_value(c) < 0) return false;
    return true;
}

std::uint64_t queue_id_time_us(std::string_view qid) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < kTimeChars && i < qid.size(); ++i) {
        int d = base32_value(qid[i]);
        if (d < 0) return 0;
        v = (v << 5) | static_cast<std::uint64_t>(d);
    }
    return v;
}

}  // namespace gatehouse
