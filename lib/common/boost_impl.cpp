// The one translation unit that compiles Asio, Asio's SSL support, Beast, Boost.JSON and
// Boost.URL (their separate-compilation modes): every other file includes only their headers,
// which keeps a full build on 2 cores to minutes.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
