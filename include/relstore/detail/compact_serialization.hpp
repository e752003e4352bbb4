#pragma once
// Boost.Serialization of relstore::text and relstore::bytes, for the
// serialize() that RELSTORE_FIELDS gives a row.

#include <relstore/bytes.hpp>
#include <relstore/text.hpp>

#include <boost/archive/archive_exception.hpp>
#include <boost/serialization/level.hpp>
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/split_free.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/tracking.hpp>

#include <cstddef>
#include <span>
#include <string>

namespace boost::serialization {

// A text is saved as a std::string and bytes as a string of hex digits (as
// relstore's archives write blobs), with no class information and no
// tracking: in binary and text archives a text field is then the same bytes
// as a std::string field, so rows archived with either load into the other.
// (An XML archive names the inner string "value", one element deeper.)
template <class Archive>
void save(Archive& ar, const relstore::text& t, const unsigned int /*version*/) {
    const std::string s(t.view());
    ar << make_nvp("value", s);
}
template <class Archive>
void load(Archive& ar, relstore::text& t, const unsigned int /*version*/) {
    std::string s;
    ar >> make_nvp("value", s);
    t = s;
}
template <class Archive>
void serialize(Archive& ar, relstore::text& t, const unsigned int version) {
    split_free(ar, t, version);
}

template <class Archive>
void save(Archive& ar, const relstore::bytes& b, const unsigned int /*version*/) {
    constexpr char hex[] = "0123456789abcdef";
    std::string s;
    s.reserve(b.size() * 2);
    for (const std::byte x : b) {
        s += hex[static_cast<unsigned>(x) >> 4];
        s += hex[static_cast<unsigned>(x) & 0xF];
    }
    ar << make_nvp("value", s);
}
template <class Archive>
void load(Archive& ar, relstore::bytes& b, const unsigned int /*version*/) {
    std::string s;
    ar >> make_nvp("value", s);
    const auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    if (s.size() % 2 != 0) throw archive::archive_exception(archive::archive_exception::input_stream_error);
    std::string raw(s.size() / 2, '\0');
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const int hi = digit(s[2 * i]), lo = digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0) throw archive::archive_exception(archive::archive_exception::input_stream_error);
        raw[i] = static_cast<char>(hi * 16 + lo);
    }
    b = relstore::bytes(std::as_bytes(std::span<const char>(raw)));
}
template <class Archive>
void serialize(Archive& ar, relstore::bytes& b, const unsigned int version) {
    split_free(ar, b, version);
}

}  // namespace boost::serialization

BOOST_CLASS_IMPLEMENTATION(relstore::text, boost::serialization::object_serializable)
BOOST_CLASS_TRACKING(relstore::text, boost::serialization::track_never)
BOOST_CLASS_IMPLEMENTATION(relstore::bytes, boost::serialization::object_serializable)
BOOST_CLASS_TRACKING(relstore::bytes, boost::serialization::track_never)
