#include "config/writer.hpp"

#include <yaml-cpp/yaml.h>

#include <stdexcept>
#include <string_view>
#include <vector>

#include "config/loader.hpp"

namespace chargerecon {
namespace {

std::string text_of(const std::string& value) { return value; }
template <class Enum>
std::string text_of(Enum value) {
  return std::string(to_string(value));
}

// One `section:` mapping of the document, closed when it goes out of scope. yaml-cpp chooses
// how each value is quoted: that is why nothing here puts YAML text together itself.
class section {
 public:
  section(YAML::Emitter& out, std::string_view name) : out_(out) {
    out_ << YAML::Key << std::string(name) << YAML::Value << YAML::BeginMap;
  }
  ~section() { out_ << YAML::EndMap; }
  section(const section&) = delete;
  section& operator=(const section&) = delete;

  section& key(std::string_view name, std::string_view value) {
    out_ << YAML::Key << std::string(name) << YAML::Value << std::string(value);
    return *this;
  }
  // Without it a string literal would take the bool overload (a standard conversion wins).
  section& key(std::string_view name, const char* value) { return key(name, std::string_view(value)); }
  section& key(std::string_view name, unsigned value) {
    out_ << YAML::Key << std::string(name) << YAML::Value << value;
    return *this;
  }
  section& key(std::string_view name, bool value) {
    out_ << YAML::Key << std::string(name) << YAML::Value << value;
    return *this;
  }
  section& key(std::string_view name, std::chrono::milliseconds value) { return key(name, format_duration(value)); }

  // A flow list, [A, B], the way etc/chargerecon.yaml writes them.
  template <class T>
  section& list(std::string_view name, const std::vector<T>& items) {
    out_ << YAML::Key << std::string(name) << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const T& item : items) out_ << text_of(item);
    out_ << YAML::EndSeq;
    return *this;
  }

 private:
  YAML::Emitter& out_;
};

}  // namespace

std::string to_yaml(const config& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  {
    section s(out, "crm");
    s.key("base_url", c.crm.base_url)
        .key("username", c.crm.username)
        .key("password_file", c.crm.password_file)
        .key("web_api_key_file", c.crm.web_api_key_file)
        .key("organisation", c.crm.organisation)
        .key("unit", c.crm.unit)
        .key("ca_file", c.crm.ca_file)
        .key("timeout", c.crm.timeout)
        .key("connect_timeout", c.crm.connect_timeout)
        .key("allow_plain_http", c.crm.allow_plain_http)
        .key("token_lifetime", c.crm.token_lifetime)
        .key("max_response_size", format_size(c.crm.max_response_size));
  }
  {
    section s(out, "poll");
    s.key("interval", c.poll.interval).list("charge_status", c.poll.charge_status).key("page_size", c.poll.page_size);
  }
  {
    section s(out, "billing");
    s.key("url", c.billing.url)
        .key("token_file", c.billing.token_file)
        .key("concurrency", c.billing.concurrency)
        .key("timeout", c.billing.timeout)
        .key("connect_timeout", c.billing.connect_timeout)
        .key("allow_plain_http", c.billing.allow_plain_http)
        .key("ca_file", c.billing.ca_file)
        .list("bill_statuses", c.billing.bill_statuses)
        .key("backoff_initial", c.billing.backoff_initial)
        .key("backoff_max", c.billing.backoff_max);
  }
  {
    section s(out, "ack");
    s.key("batch_size", c.ack.batch_size)
        .key("linger", c.ack.linger)
        .key("max_attempts", c.ack.max_attempts)
        .key("backoff_initial", c.ack.backoff_initial)
        .key("backoff_max", c.ack.backoff_max)
        .list("done_error_codes", c.ack.done_error_codes);
  }
  {
    section s(out, "ledger");
    s.key("path", c.ledger.path);
  }
  {
    section s(out, "log");
    // "auto" is the loader's word for an unset format (text on a terminal, json elsewhere).
    s.key("level", obs::to_string(c.log.level)).key("format", c.log.format ? obs::to_string(*c.log.format) : "auto");
  }
  {
    section s(out, "metrics");
    s.key("listen", c.metrics.listen);
  }
  {
    section s(out, "shutdown");
    s.key("deadline", c.shutdown.deadline);
  }
  out << YAML::EndMap;
  // Only a Begin without its End above gets here: a bug of this file, not of the input.
  if (!out.good()) throw std::logic_error("to_yaml: " + out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

}  // namespace chargerecon
