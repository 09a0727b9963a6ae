// Result<T>: a value or an Error that says whether the failure is temporary,
// permanent or internal. Every fallible call in Gatehouse returns one; the
// kind decides between a 4xx and a 5xx further up, so it is never dropped.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace gatehouse {

enum class ErrorKind { Temporary, Permanent, Internal };

struct Error {
    ErrorKind kind = ErrorKind::Internal;
    std::string message;

    static Error temporary(std::string m) { return {ErrorKind::Temporary, std::move(m)}; }
    static Error permanent(std::string m) { return {ErrorKind::Permanent, std::move(m)}; }
    static Error internal(std::string m) { return {ErrorKind::Internal, std::move(m)}; }
};

template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return error_; }

  private:
    Error error_;
    bool ok_ = true;
};

inline Result<void> ok() {
    return {};
}

}  // namespace gatehouse
