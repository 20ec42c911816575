#include "billing/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <list>
#include <random>
#include <stdexcept>

namespace chargerecon::billing {
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// A counting semaphore for coroutines on one executor. A waiter parks on a timer that never
// expires; release() hands its slot straight to the oldest waiter and wakes it by cancelling that
// timer, so a slot is never up for grabs between the release and the waiter's resumption.
class slot_semaphore {
 public:
  explicit slot_semaphore(std::size_t slots) : available_(slots) {}

  // Errors: operation_aborted when the awaiting coroutine is cancelled before it got a slot (it
  // then holds none). Callers check their cancellation state first: a co_await of this
  // awaitable in an already cancelled coroutine throws.
  // A slot at once when one is free and nobody queues before us: no coroutine frame to pay for.
  bool try_acquire() {
    if (available_ == 0 || !waiters_.empty()) return false;
    --available_;
    ++held_;
    return true;
  }

  asio::awaitable<boost::system::error_code> acquire() {
    if (try_acquire()) co_return boost::system::error_code{};
    waiter w{asio::steady_timer(co_await asio::this_coro::executor, asio::steady_timer::time_point::max())};
    const enrolment queued(*this, w);
    const auto ec = std::get<0>(co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    // Granted wins over a cancellation that raced it: the slot is ours and the caller, seeing its
    // cancellation state, gives it back.
    if (w.granted) co_return boost::system::error_code{};
    co_return ec ? ec : boost::system::error_code(asio::error::operation_aborted);
  }

  void release() {
    --held_;
    if (!waiters_.empty()) {
      waiter* next = waiters_.front();
      waiters_.pop_front();
      next->granted = true;
      ++held_;
      next->timer.cancel();
      return;
    }
    ++available_;
  }

  std::size_t held() const { return held_; }

 private:
  struct waiter {
    asio::steady_timer timer;
    bool granted = false;
  };
  // A waiter's place in the queue, left however its frame ends (cancelled, or destroyed with a
  // stopped io_context), so release() never reaches a waiter that is gone.
  class enrolment {
   public:
    enrolment(slot_semaphore& s, waiter& w) : sem_(s), w_(w), pos_(s.waiters_.insert(s.waiters_.end(), &w)) {}
    ~enrolment() {
      if (!w_.granted) sem_.waiters_.erase(pos_);
    }
    enrolment(const enrolment&) = delete;
    enrolment& operator=(const enrolment&) = delete;

   private:
    slot_semaphore& sem_;
    waiter& w_;
    std::list<waiter*>::iterator pos_;
  };
  std::size_t available_;
  std::size_t held_ = 0;
  std::list<waiter*> waiters_;
};

class slot_guard {
 public:
  explicit slot_guard(slot_semaphore& s) : sem_(&s) {}
  ~slot_guard() { reset(); }
  slot_guard(const slot_guard&) = delete;
  slot_guard& operator=(const slot_guard&) = delete;
  void reset() {
    if (sem_) std::exchange(sem_, nullptr)->release();
  }

 private:
  slot_semaphore* sem_;
};

bool is_set(asio::cancellation_state state) { return state.cancelled() != asio::cancellation_type::none; }

asio::awaitable<boost::system::error_code> timer_sleep(milliseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  const auto ec = std::get<0>(co_await timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  co_return ec;
}

random_source default_random() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  // 53 random bits: every double in [0, 1) this can return is exact.
  return [engine] { return static_cast<double>((*engine)() >> 11) * 0x1.0p-53; };
}

// What one exchange needs besides its transport, kept and reused: a cancellation signal keeps
// the memory of the handler it last held. At most `concurrency` exchanges run at once, so at
// most that many kits exist. The timer is the exchange's own: an I/O object belongs to the
// io_context of the post that made it, which may be gone by the next post (the client may be
// used from several, one after another), and must not be touched after it.
struct exchange_kit {
  // Expiry is the timeout; an early wake-up (cancel) means the transport ended or our caller
  // cancelled us. Set for one exchange.
  std::optional<asio::steady_timer> deadline;
  // The transport runs in a coroutine of its own so that its cancellation slot is this one.
  asio::cancellation_signal stop_transport;
  bool ended = false;
  result<http::response> answer = error{};
  std::exception_ptr failure;
};

std::string describe(const error& e) { return e.to_string(); }

}  // namespace

struct client::impl {
  transport send;
  client_config config;
  obs::event_log log;
  random_source random;
  sleeper sleep;
  slot_semaphore slots;

  impl(transport t, client_config c, obs::event_log l, random_source r, sleeper s)
      : send(std::move(t)),
        config(std::move(c)),
        log(std::move(l)),
        random(r ? std::move(r) : default_random()),
        sleep(s ? std::move(s) : sleeper(timer_sleep)),
        slots(config.concurrency) {}

  std::vector<std::unique_ptr<exchange_kit>> spare_kits;

  // One exchange bounded by post_timeout. On timeout the transport is cancelled (terminal) and
  // awaited, so nothing of this exchange is left running when this returns. Our caller's
  // cancellation reaches the transport as terminal cancellation, likewise awaited.
  // A reused timer and signal and a spawned transport rather than a parallel group: the same
  // race for a fraction of the instructions, which count at thousands of posts a second.
  // The request is built here, for each try, as the transport consumes it: one copy of the body
  // per try, and none of it in post()'s frame.
  asio::awaitable<result<http::response>> exchange(const std::string& charge_number, const std::string& raw_charge_json,
                                                   std::string_view who) {
    auto req = make_post(config.target, charge_number, raw_charge_json);
    if (!req) co_return req.error();  // post() checked the same inputs: not reached
    const auto ex = co_await asio::this_coro::executor;
    std::unique_ptr<exchange_kit> kit;
    if (spare_kits.empty()) {
      kit = std::make_unique<exchange_kit>();
    } else {
      kit = std::move(spare_kits.back());
      spare_kits.pop_back();
    }
    // Back to the spares only once the transport has ended, which the loop below waits for.
    struct give_back {
      std::vector<std::unique_ptr<exchange_kit>>& spares;
      std::unique_ptr<exchange_kit>& kit;
      ~give_back() {
        kit->deadline.reset();
        spares.push_back(std::move(kit));
      }
    } on_exit{spare_kits, kit};

    exchange_kit& k = *kit;
    k.ended = false;
    k.failure = nullptr;
    k.deadline.emplace(ex, config.post_timeout);
    asio::co_spawn(
        ex, send(std::move(*req)),
        asio::bind_cancellation_slot(k.stop_transport.slot(), [&k](std::exception_ptr e, result<http::response> r) {
          k.ended = true;
          k.failure = e;
          k.answer = std::move(r);
          k.deadline->cancel();
        }));
    // The transport is awaited even after our caller cancelled us, and a co_await in a cancelled
    // coroutine throws unless told otherwise: the caller's setting is restored before returning.
    const bool throws_if_cancelled = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    bool timed_out = false;
    while (!k.ended) {
      // No structured binding here: GCC 12 mishandles them in coroutine frames.
      const auto ec = std::get<0>(co_await k.deadline->async_wait(asio::as_tuple(asio::use_awaitable)));
      if (k.ended) break;
      if (!ec) timed_out = true;  // otherwise our caller cancelled us
      k.stop_transport.emit(asio::cancellation_type::terminal);
      k.deadline->expires_at(asio::steady_timer::time_point::max());
    }
    co_await asio::this_coro::throw_if_cancelled(throws_if_cancelled);

    // A transport that lets a system_error escape (an Asio op in a cancelled coroutine throws)
    // failed its exchange; any other exception is a bug of the transport, for the task boundary.
    std::optional<error> thrown;
    if (k.failure) {
      try {
        std::rethrow_exception(k.failure);
      } catch (const boost::system::system_error& e) {
        thrown = error{e.code(), std::string("billing exchange failed: ") + e.what()};
      }
    }
    if (timed_out)
      co_return error{errc::request_timeout, "billing post of charge '" + std::string(who) + "' got no answer within " +
                                                 std::to_string(config.post_timeout.count()) + " ms"};
    if (thrown) co_return std::move(*thrown);
    co_return std::move(k.answer);
  }

  // What one try came to: the call's outcome when billing's answer settles it, otherwise the
  // failure to retry or give up on, with billing's Retry-After. Logs what it finds. Plain code,
  // kept out of post()'s coroutine frame.
  struct verdict {
    std::optional<outcome> settled;
    error failure;
    std::optional<milliseconds> retry_after;
  };

  verdict judge(result<http::response> exchanged, unsigned attempt, const std::string& who) const {
    verdict v;
    if (!exchanged) {
      v.failure = exchanged.error();  // error() returns by value: already an rvalue
      return v;
    }
    auto classified = classify(*exchanged, std::chrono::system_clock::now(), config.max_retry_after);
    if (auto* b = std::get_if<billed>(&classified)) {
      log.debug("billing.billed", {{"number", who},
                                   {"reference", quote_peer_text(b->reference, 64)},
                                   {"replay", b->replay},
                                   {"attempt", attempt}});
      v.settled = outcome{std::move(*b)};
    } else if (auto* r = std::get_if<rejected>(&classified)) {
      log.error("billing.rejected", {{"number", who}, {"status", r->status}, {"reason", r->reason}});
      v.settled = outcome{std::move(*r)};
    } else if (auto* t = std::get_if<transient>(&classified)) {
      v.failure = error{errc::billing_transient, "billing post of charge '" + who + "': " + t->reason};
      if (t->retry_after) v.retry_after = milliseconds(*t->retry_after);
    } else {
      auto& p = std::get<protocol_error>(classified);
      log.error("billing.protocol_error", {{"number", who}, {"status", p.status}, {"reason", p.reason}});
      v.failure = error{errc::billing_protocol_error, "billing post of charge '" + who + "': " + p.reason};
    }
    return v;
  }

  // After a failed try: the call's outcome when it gives up now, logged as billing.gave_up;
  // otherwise nothing, and `delay` is the wait before the next try, logged as billing.post_retry.
  std::optional<outcome> give_up_or_wait(verdict& v, unsigned attempt, const std::string& who, milliseconds& delay) {
    // A certificate billing's server presents that we refuse (untrusted, expired, another
    // host's name), or TLS the two ends cannot agree on: every repetition gets the same answer
    // until a person acts, so this post stops now; the engine keeps the charge for a later try.
    if (attempt >= config.max_attempts || v.failure.code == make_error_code(errc::tls_handshake_failed)) {
      log.warn("billing.gave_up", {{"number", who}, {"attempts", attempt}, {"reason", describe(v.failure)}});
      return outcome{gave_up{attempt, std::move(v.failure), v.retry_after}};
    }
    delay = retry_delay(config.backoff, attempt, v.retry_after, random());
    log.warn("billing.post_retry",
             {{"number", who},
              {"attempt", attempt},
              {"delay_ms", static_cast<std::int64_t>(delay.count())},
              {"retry_after_ms", static_cast<std::int64_t>(v.retry_after ? v.retry_after->count() : -1)},
              {"reason", describe(v.failure)}});
    return std::nullopt;
  }
};

client::client(transport send, client_config config, obs::event_log log, random_source random, sleeper sleep) {
  if (config.concurrency == 0) throw std::invalid_argument("billing client: concurrency must be at least 1");
  if (config.max_attempts == 0) throw std::invalid_argument("billing client: max_attempts must be at least 1");
  if (!send) throw std::invalid_argument("billing client: no transport");
  impl_ = std::make_unique<impl>(std::move(send), std::move(config), std::move(log), std::move(random),
                                 std::move(sleep));
}

client::~client() = default;

std::size_t client::in_flight() const { return impl_->slots.held(); }

asio::awaitable<result<outcome>> client::post(std::string charge_number, std::string raw_charge_json) {
  impl& m = *impl_;
  // Refused before any try: the same refusal would come on every try.
  if (auto checked = check_post(m.config.target, charge_number); !checked) co_return checked.error();
  const std::string who = quote_peer_text(charge_number, 64);
  const auto cancelled = [&who](std::string_view where) {
    return error{asio::error::operation_aborted, "billing post of charge '" + who + "' cancelled " + std::string(where)};
  };

  // Every check of the cancellation state below comes before the next co_await of an awaitable:
  // co_await in a cancelled coroutine throws (the caller's throw_if_cancelled, left as it is).
  for (unsigned attempt = 1;; ++attempt) {
    if (is_set(co_await asio::this_coro::cancellation_state)) co_return cancelled("before its try");
    if (!m.slots.try_acquire()) {
      if (const auto ec = co_await m.slots.acquire()) co_return cancelled("while waiting for a free slot");
    }
    slot_guard slot(m.slots);
    if (is_set(co_await asio::this_coro::cancellation_state)) co_return cancelled("while waiting for a free slot");

    auto exchanged = co_await m.exchange(charge_number, raw_charge_json, who);
    slot.reset();
    if (is_set(co_await asio::this_coro::cancellation_state)) co_return cancelled("during its exchange");

    auto judged = m.judge(std::move(exchanged), attempt, who);
    if (judged.settled) co_return std::move(*judged.settled);
    milliseconds delay{0};
    if (auto ended = m.give_up_or_wait(judged, attempt, who, delay)) co_return std::move(*ended);
    const auto slept = co_await m.sleep(delay);
    if (slept || is_set(co_await asio::this_coro::cancellation_state)) co_return cancelled("while waiting to retry");
  }
}

}  // namespace chargerecon::billing
