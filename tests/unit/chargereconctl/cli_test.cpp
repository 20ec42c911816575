// chargereconctl's command line: what each command accepts, what it refuses, and how the
// refusals read (an operator learns what to type next from them).

#include "chargereconctl/cli.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace chargerecon::ctl {
namespace {

using namespace std::chrono;
using ::testing::HasSubstr;

const cli_env env{"", "alice"};

invocation parse_ok(const std::vector<std::string>& args, const cli_env& e = env) {
  auto r = parse_command_line(args, e);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().diagnostic);
  return r ? *r : invocation{};
}

std::string parse_error(const std::vector<std::string>& args, const cli_env& e = env) {
  auto r = parse_command_line(args, e);
  EXPECT_FALSE(r.has_value()) << "accepted: " << ::testing::PrintToString(args);
  if (r) return {};
  EXPECT_EQ(r.error().code, make_error_code(errc::invalid_argument));
  return r.error().diagnostic;
}

ledger::timestamp utc(int y, unsigned m, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return ledger::timestamp{sys_days{year{y} / month{m} / day{d}}} + hours(h) + minutes(mi) + seconds(s);
}

TEST(chargereconctl_cli, global_options_go_before_or_after_the_command) {
  const auto a = parse_ok({"--config", "/tmp/c.yaml", "status", "--json"});
  EXPECT_EQ(a.command, command_id::status);
  EXPECT_EQ(a.global.config_path, "/tmp/c.yaml");
  EXPECT_TRUE(a.global.config_given);
  EXPECT_TRUE(a.global.json);
  EXPECT_FALSE(a.global.ledger_path);

  const auto b = parse_ok({"status", "--ledger=/var/lib/l.db", "--verbose"});
  EXPECT_EQ(b.global.ledger_path, "/var/lib/l.db");
  EXPECT_EQ(b.global.config_path, default_config_path);
  EXPECT_FALSE(b.global.config_given);
  EXPECT_TRUE(b.global.verbose);
}

TEST(chargereconctl_cli, help_works_for_every_form_and_needs_no_other_argument) {
  EXPECT_TRUE(parse_ok({"--help"}).help);
  EXPECT_EQ(parse_ok({"--help"}).command, command_id::none);
  EXPECT_TRUE(parse_ok({"-h"}).help);
  const auto retry = parse_ok({"retry", "--help"});  // no NUMBER, no --reason: still help
  EXPECT_TRUE(retry.help);
  EXPECT_EQ(retry.command, command_id::retry);
  EXPECT_EQ(parse_ok({"help", "export"}).command, command_id::export_charges);
  EXPECT_TRUE(parse_ok({"help", "devices", "register"}).help);
  EXPECT_EQ(parse_ok({"subscription", "create", "--help"}).command, command_id::subscription_create);
  // A command word without its subcommand still gets the overview, which names them.
  EXPECT_TRUE(parse_ok({"subscription", "--help"}).help);
}

TEST(chargereconctl_cli, every_command_has_help_naming_its_options) {
  for (const auto id :
       {command_id::status, command_id::list, command_id::show, command_id::retry, command_id::release,
        command_id::export_charges, command_id::reconcile, command_id::promotions, command_id::subscription_show,
        command_id::subscription_create, command_id::subscription_suspend, command_id::subscription_unsuspend,
        command_id::devices_register, command_id::devices_unregister}) {
    const auto text = help_text(id);
    EXPECT_THAT(text, HasSubstr("usage: chargereconctl " + std::string(command_name(id)))) << command_name(id);
    EXPECT_THAT(usage_line(id), HasSubstr(std::string(command_name(id))));
  }
  EXPECT_THAT(help_text(command_id::none), HasSubstr("64 usage error"));
  EXPECT_THAT(help_text(command_id::none), HasSubstr("78 configuration error"));
  EXPECT_THAT(help_text(command_id::reconcile), HasSubstr("crm_left_list"));
}

TEST(chargereconctl_cli, list_takes_every_filter) {
  const auto a = parse_ok({"list", "--state", "held", "--customer", "C0001", "--status", "APPROVED", "--since",
                           "2026-01-01", "--until", "2026-01-31", "--limit", "5"});
  EXPECT_EQ(a.command, command_id::list);
  EXPECT_EQ(a.filter.state, ledger::charge_state::held);
  EXPECT_EQ(a.filter.customer, "C0001");
  EXPECT_EQ(a.filter.status, "APPROVED");
  EXPECT_EQ(a.filter.first_seen_from, utc(2026, 1, 1));
  EXPECT_EQ(a.filter.first_seen_until, utc(2026, 2, 1));  // --until DAY covers that whole day
  EXPECT_EQ(a.filter.limit, 5u);
  EXPECT_EQ(parse_ok({"list"}).filter.limit, 100u);
}

TEST(chargereconctl_cli, bad_values_are_refused_naming_the_flag) {
  EXPECT_THAT(parse_error({"list", "--state", "billedd"}), HasSubstr("--state: 'billedd' is not a state"));
  EXPECT_THAT(parse_error({"list", "--limit", "0"}), HasSubstr("--limit"));
  EXPECT_THAT(parse_error({"list", "--limit", "12x"}), HasSubstr("--limit"));
  EXPECT_THAT(parse_error({"list", "--since", "31/01/2026"}), HasSubstr("--since: '31/01/2026' is not a date"));
  EXPECT_THAT(parse_error({"list", "--since", "2026-02-01", "--until", "2026-01-01"}),
              HasSubstr("--since must be before --until"));
  EXPECT_THAT(parse_error({"list", "--state"}), HasSubstr("--state: needs a value"));
  EXPECT_THAT(parse_error({"list", "--state="}), HasSubstr("--state: needs a non-empty value"));
  EXPECT_THAT(parse_error({"list", "--json=yes"}), HasSubstr("--json: takes no value"));
  EXPECT_THAT(parse_error({"list", "--state", "held", "--state", "dead"}), HasSubstr("--state: is given twice"));
  EXPECT_THAT(parse_error({"reconcile", "--older-than", "1 hour"}), HasSubstr("--older-than"));
  EXPECT_THAT(parse_error({"reconcile", "--older-than", "0s"}), HasSubstr("--older-than"));
  EXPECT_THAT(parse_error({"export", "--since", "2026-01-01", "--until", "2026-02-01", "--format", "xlsx"}),
              HasSubstr("--format: 'xlsx' is not a format: csv or jsonl"));
}

TEST(chargereconctl_cli, unknown_words_and_options_point_to_help) {
  EXPECT_THAT(parse_error({"frobnicate"}), HasSubstr("unknown command 'frobnicate'"));
  EXPECT_THAT(parse_error({"list", "--colour"}), HasSubstr("unknown option --colour for list"));
  EXPECT_THAT(parse_error({"list", "--colour"}), HasSubstr("chargereconctl list --help"));
  EXPECT_THAT(parse_error({"--state", "held", "list"}), HasSubstr("before the command"));
  EXPECT_THAT(parse_error({"subscription", "cancel"}), HasSubstr("no subcommand 'cancel'"));
  EXPECT_THAT(parse_error({"subscription"}), HasSubstr("needs a subcommand"));
  EXPECT_THAT(parse_error({"devices", "--file", "x", "register"}), HasSubstr("needs a subcommand before"));
  EXPECT_THAT(parse_error({"status", "extra"}), HasSubstr("unexpected argument 'extra'"));
  EXPECT_THAT(parse_error({"-x"}), HasSubstr("options are spelled --name"));
  EXPECT_THAT(parse_error({}), HasSubstr("no command"));
}

TEST(chargereconctl_cli, command_named_finds_the_command_for_the_synopsis) {
  EXPECT_EQ(command_named({"list", "--bogus"}), command_id::list);
  EXPECT_EQ(command_named({"--config", "c.yaml", "devices", "register", "--file"}), command_id::devices_register);
  EXPECT_EQ(command_named({"devices"}), command_id::none);
  EXPECT_EQ(command_named({"nothing"}), command_id::none);
}

TEST(chargereconctl_cli, show_needs_exactly_one_number) {
  EXPECT_EQ(parse_ok({"show", "I00002706"}).number, "I00002706");
  EXPECT_THAT(parse_error({"show"}), HasSubstr("needs the charge NUMBER"));
  EXPECT_THAT(parse_error({"show", "I1", "I2"}), HasSubstr("unexpected argument 'I2'"));
  // "--" lets a number that looks like an option through.
  EXPECT_EQ(parse_ok({"show", "--", "--odd"}).number, "--odd");
}

TEST(chargereconctl_cli, retry_and_release_need_a_reason_and_a_person) {
  const auto a = parse_ok({"retry", "I1", "--reason", "billing fixed the customer"});
  EXPECT_EQ(a.command, command_id::retry);
  EXPECT_EQ(a.number, "I1");
  EXPECT_EQ(a.reason, "billing fixed the customer");
  EXPECT_EQ(a.by, "alice");  // $USER

  EXPECT_EQ(parse_ok({"release", "I1", "--reason", "goodwill"}, {"bob", "root"}).by, "bob");  // $SUDO_USER first
  EXPECT_EQ(parse_ok({"release", "I1", "--reason", "goodwill", "--by", "carol"}).by, "carol");

  EXPECT_THAT(parse_error({"release", "I1"}), HasSubstr("--reason: is mandatory"));
  EXPECT_THAT(parse_error({"retry", "I1", "--reason", ""}), HasSubstr("--reason: needs a non-empty value"));
  EXPECT_THAT(parse_error({"retry", "I1", "--reason", "x"}, {"", ""}), HasSubstr("give --by NAME"));
  EXPECT_THAT(parse_error({"retry", "--reason", "x"}), HasSubstr("needs the charge NUMBER"));
}

TEST(chargereconctl_cli, export_needs_both_dates) {
  const auto a =
      parse_ok({"export", "--since", "2026-01-01T06:00:00Z", "--until", "2026-01-02T06:00:00", "--format", "jsonl"});
  EXPECT_EQ(a.command, command_id::export_charges);
  EXPECT_EQ(a.format, export_format::jsonl);
  EXPECT_EQ(a.filter.first_seen_from, utc(2026, 1, 1, 6));
  EXPECT_EQ(a.filter.first_seen_until, utc(2026, 1, 2, 6));  // an instant: exclusive, as given
  EXPECT_EQ(parse_ok({"export", "--since", "2026-01-01", "--until", "2026-01-01"}).format, export_format::csv);
  EXPECT_THAT(parse_error({"export", "--since", "2026-01-01"}), HasSubstr("--until: is mandatory"));
  EXPECT_THAT(parse_error({"export", "--until", "2026-01-01"}), HasSubstr("--since: is mandatory"));
}

TEST(chargereconctl_cli, reconcile_defaults_to_one_hour_without_crm) {
  const auto a = parse_ok({"reconcile"});
  EXPECT_EQ(a.older_than, hours(1));
  EXPECT_FALSE(a.with_crm);
  const auto b = parse_ok({"reconcile", "--older-than", "15m", "--with-crm"});
  EXPECT_EQ(b.older_than, minutes(15));
  EXPECT_TRUE(b.with_crm);
}

TEST(chargereconctl_cli, subscription_commands) {
  const auto show = parse_ok({"subscription", "show", "--customer", "C0001"});
  EXPECT_EQ(show.command, command_id::subscription_show);
  EXPECT_EQ(show.query.key, crm::subscription_query::by::billing_system_customer_identifier);
  EXPECT_EQ(show.query.value, "C0001");
  const auto by_netflix = parse_ok({"subscription", "show", "--netflix-id", "NFX-C0001"});
  EXPECT_EQ(by_netflix.query.key, crm::subscription_query::by::netflix_customer_identifier);
  EXPECT_THAT(parse_error({"subscription", "show"}), HasSubstr("exactly one of --customer C and --netflix-id ID"));
  EXPECT_THAT(parse_error({"subscription", "show", "--customer", "C", "--netflix-id", "N"}), HasSubstr("exactly one"));

  const auto create = parse_ok({"subscription", "create", "--customer", "C0009", "--promotion", "NFX-STD-3M",
                                "--channel", "web", "--validity", "3600", "--first-name", "Ada", "--email",
                                "ada@example.net", "--phone", "+357 22 000000"});
  EXPECT_EQ(create.command, command_id::subscription_create);
  EXPECT_EQ(create.create.customer, "C0009");
  EXPECT_EQ(create.create.promotion_code, "NFX-STD-3M");
  EXPECT_EQ(create.create.channel, crm::channel::web);
  EXPECT_EQ(create.create.validity_duration, seconds(3600));
  EXPECT_EQ(create.create.first_name, "Ada");
  EXPECT_FALSE(create.create.last_name);
  ASSERT_TRUE(create.create.email);
  EXPECT_EQ(create.create.email->email_address, "ada@example.net");
  ASSERT_TRUE(create.create.phone);
  EXPECT_EQ(create.create.phone->number, "+357 22 000000");
  EXPECT_EQ(parse_ok({"subscription", "create", "--customer", "C", "--validity", "30m"}).create.validity_duration,
            seconds(1800));

  EXPECT_THAT(parse_error({"subscription", "create"}), HasSubstr("--customer: is mandatory"));
  EXPECT_THAT(parse_error({"subscription", "create", "--customer", "C", "--channel", "FAX"}),
              HasSubstr("--channel: 'FAX' is not WEB, STORE, MOBILE, BROADBAND or OTHER"));
  EXPECT_THAT(parse_error({"subscription", "create", "--customer", "C", "--validity", "86401"}),
              HasSubstr("--validity"));
  EXPECT_THAT(parse_error({"subscription", "create", "--customer", "C", "--validity", "0"}), HasSubstr("--validity"));
  EXPECT_THAT(parse_error({"subscription", "create", "--customer", "C", "--validity", "1500ms"}),
              HasSubstr("--validity"));

  EXPECT_EQ(parse_ok({"subscription", "suspend", "--customer", "C7"}).customer, "C7");
  EXPECT_EQ(parse_ok({"subscription", "unsuspend", "--customer", "C7"}).command, command_id::subscription_unsuspend);
  EXPECT_THAT(parse_error({"subscription", "suspend"}), HasSubstr("--customer: is mandatory"));
}

TEST(chargereconctl_cli, devices_need_one_group_and_a_file) {
  const auto a = parse_ok({"devices", "register", "--group-name", "Lobby", "--file", "esns.txt"});
  EXPECT_EQ(a.command, command_id::devices_register);
  EXPECT_EQ(a.group.key, crm::group_identifier::by::name);
  EXPECT_EQ(a.group.value, "Lobby");
  EXPECT_EQ(a.esn_file, "esns.txt");
  const auto b = parse_ok({"devices", "unregister", "--group-code", "G-7", "--file", "-"});
  EXPECT_EQ(b.command, command_id::devices_unregister);
  EXPECT_EQ(b.group.key, crm::group_identifier::by::alternative_code);
  EXPECT_EQ(parse_ok({"devices", "register", "--group-id", "42", "--file", "f"}).group.key,
            crm::group_identifier::by::id);
  EXPECT_THAT(parse_error({"devices", "register", "--file", "f"}), HasSubstr("exactly one of --group-name"));
  EXPECT_THAT(parse_error({"devices", "register", "--group-name", "a", "--group-id", "1", "--file", "f"}),
              HasSubstr("exactly one of --group-name"));
  EXPECT_THAT(parse_error({"devices", "register", "--group-name", "a"}), HasSubstr("--file: is mandatory"));
}

TEST(chargereconctl_cli, date_arguments) {
  EXPECT_EQ(parse_date_arg("2026-01-31", false), utc(2026, 1, 31));
  EXPECT_EQ(parse_date_arg("2026-01-31", true), utc(2026, 2, 1));
  EXPECT_EQ(parse_date_arg("2026-12-31", true), utc(2027, 1, 1));
  EXPECT_EQ(parse_date_arg("2026-01-31T10:20:30", true), utc(2026, 1, 31, 10, 20, 30));
  EXPECT_EQ(parse_date_arg("2026-01-31T10:20:30Z", false), utc(2026, 1, 31, 10, 20, 30));
  EXPECT_EQ(parse_date_arg("2026-01-31T10:20:30.250Z", false), utc(2026, 1, 31, 10, 20, 30) + milliseconds(250));
  for (const auto bad : {"", "2026-1-31", "2026-02-30", "2026-01-31Z", "2026-01-31 10:20:30", "2026-01-31T24:00:00",
                         "2026-01-31T10:20", "2026-01-31T10:20:30+02:00", "yesterday"})
    EXPECT_FALSE(parse_date_arg(bad, false)) << bad;
}

}  // namespace
}  // namespace chargerecon::ctl
