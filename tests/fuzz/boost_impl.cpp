// The fuzz build's one translation unit of compiled Boost code: only Boost.JSON (the targets
// re-write answers with it) and Boost.URL (the config loader's URL checks). Asio stays
// header-only here, so that the targets need none of lib/common/boost_impl.cpp's Asio and Beast.
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
