#include "http/port_file.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>

namespace chargerecon::http {
namespace {

TEST(port_file, holds_the_port_and_a_newline_and_no_temporary_is_left) {
  test::temp_dir dir;
  const auto path = dir.path() / "port";
  ASSERT_TRUE(write_port_file(path.string(), 41234));
  EXPECT_EQ(test::read_file(path), "41234\n");
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  EXPECT_EQ(test::wait_for_port_file(path, std::chrono::milliseconds(100)), std::uint16_t{41234});
}

TEST(port_file, an_unwritable_place_is_reported) {
  EXPECT_FALSE(write_port_file("/nonexistent-dir/port", 1));
}

}  // namespace
}  // namespace chargerecon::http
