#include "observability/service_notifier.hpp"

#include <systemd/sd-daemon.h>

#include <string>

namespace chargerecon::obs {

void service_notifier::ready() const { sd_notify(0, "READY=1"); }

void service_notifier::status(std::string_view text) const {
  std::string msg = "STATUS=";
  // One line only: the protocol is newline separated.
  for (char c : text) msg += (c == '\n') ? ' ' : c;
  sd_notify(0, msg.c_str());
}

void service_notifier::stopping() const { sd_notify(0, "STOPPING=1"); }

void service_notifier::reloading() const { sd_notify(0, "RELOADING=1"); }

void service_notifier::watchdog() const { sd_notify(0, "WATCHDOG=1"); }

std::optional<std::chrono::microseconds> service_notifier::watchdog_ping_interval() const {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec / 2);
}

}  // namespace chargerecon::obs
