// How error messages show values (relstore::detail::display): a string is cut
// after 64 bytes, at a character boundary, and followed by its length, so that
// a huge value cannot make a huge what(); control characters and bytes that
// are not UTF-8 are escaped, so a message is one line of valid UTF-8; numbers
// are always shown whole and exactly.
#include "shop.hpp"

#include <catch2/catch.hpp>
#include <relstore/relstore.hpp>

#include <charconv>
#include <cstdint>
#include <limits>
#include <locale>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

namespace display_test {

using relstore::detail::display;

namespace {

std::string quoted(const std::string& s) { return '"' + s + '"'; }

// What a string cut by the cap looks like: its shown bytes, quoted, then an
// ellipsis and its whole length.
std::string capped(const std::string& shown, std::size_t bytes) {
    return quoted(shown) + "\u2026 (" + std::to_string(bytes) + " bytes)";
}

// True when s is well-formed UTF-8 (no overlong forms, surrogates or code
// points above U+10FFFF), written independently of the library's decoder.
bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1Fu) : n == 3 ? (c & 0x0Fu) : (c & 0x07u);
        for (std::size_t k = 1; k < n; ++k) {
            const auto d = static_cast<unsigned char>(s[i + k]);
            if ((d >> 6) != 0x2) return false;
            cp = (cp << 6) | (d & 0x3Fu);
        }
        const std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n;
    }
    return true;
}

// Sets the global C++ locale for one test and puts the previous one back.
struct global_locale {
    std::locale previous;
    explicit global_locale(const std::locale& l) : previous(std::locale::global(l)) {}
    ~global_locale() { std::locale::global(previous); }
};

// A locale that writes 1234567.5 as "1.234.567,5", as de_DE does.
struct german_numbers : std::numpunct<char> {
    char do_decimal_point() const override { return ','; }
    char do_thousands_sep() const override { return '.'; }
    std::string do_grouping() const override { return "\3"; }
};

}  // namespace

TEST_CASE("a string of at most 64 bytes is shown whole", "[core][display]") {
    CHECK(display(std::string("")) == quoted(""));
    CHECK(display(std::string(63, 'a')) == quoted(std::string(63, 'a')));
    CHECK(display(std::string(64, 'a')) == quoted(std::string(64, 'a')));
    SECTION("however many bytes its characters take") {
        const std::string s = std::string(61, 'a') + "\u20AC";  // 61 + 3 bytes
        REQUIRE(s.size() == 64);
        CHECK(display(s) == quoted(s));
    }
}

TEST_CASE("a string longer than 64 bytes is shown as its first 64 bytes and its length", "[core][display]") {
    CHECK(display(std::string(65, 'a')) == capped(std::string(64, 'a'), 65));
    CHECK(display(std::string(100'000, 'b')) == capped(std::string(64, 'b'), 100'000));
    SECTION("a lookup key given as a string literal too") {
        const std::string text(200, 'c');
        CHECK(display(text.c_str()) == capped(std::string(64, 'c'), 200));
        CHECK(display(std::string_view(text)) == capped(std::string(64, 'c'), 200));
    }
    SECTION("a nullable string") {
        CHECK(display(std::optional<std::string>(std::string(70, 'd'))) == capped(std::string(64, 'd'), 70));
        CHECK(display(std::optional<std::string>()) == "NULL");
    }
}

TEST_CASE("the cut never splits a character in two", "[core][display]") {
    // A character whose bytes straddle byte 64 is left out whole.
    SECTION("two bytes") {
        const std::string s = std::string(63, 'a') + "\u00E9" + "zz";  // é at bytes 63-64
        CHECK(display(s) == capped(std::string(63, 'a'), 67));
    }
    SECTION("three bytes") {
        const std::string s = std::string(62, 'a') + "\u20AC" + "z";  // € at bytes 62-64
        CHECK(display(s) == capped(std::string(62, 'a'), 66));
    }
    SECTION("four bytes") {
        const std::string s = std::string(61, 'a') + "\U0001F600" + "z";  // 😀 at bytes 61-64
        CHECK(display(s) == capped(std::string(61, 'a'), 66));
    }
    SECTION("a character that ends exactly at byte 64 is kept") {
        const std::string s = std::string(60, 'a') + "\U0001F600" + "z";
        CHECK(display(s) == capped(std::string(60, 'a') + "\U0001F600", 65));
    }
    SECTION("text made of multi-byte characters only") {
        std::string s;
        for (int i = 0; i < 40; ++i) s += "\u00E9\u20AC\U0001F600";
        const std::string shown = display(s);
        CHECK(valid_utf8(shown));
        // 7 groups of 9 bytes make 63; the next é (2 bytes) would end at byte 65.
        std::string expected;
        for (int i = 0; i < 7; ++i) expected += "\u00E9\u20AC\U0001F600";
        CHECK(shown == capped(expected, s.size()));
    }
}

TEST_CASE("control characters and bytes that are not UTF-8 are escaped, so a message is one valid UTF-8 line",
          "[core][display]") {
    CHECK(display(std::string("a\nb\rc\td")) == R"("a\nb\rc\td")");
    CHECK(display(std::string("nul\0end", 7)) == R"("nul\x00end")");
    CHECK(display(std::string("\x01\x1f\x7f")) == R"("\x01\x1f\x7f")");
    CHECK(display(std::string(R"(say "hi" \o/)")) == R"("say \"hi\" \\o/")");
    SECTION("line separators and C1 controls, which some terminals and logs also break lines at") {
        CHECK(display(std::string("a\u0085b\u2028c\u2029d")) == R"("a\u0085b\u2028c\u2029d")");
    }
    SECTION("bidirectional overrides, which would show the rest of the line out of order") {
        CHECK(display(std::string("a\u202Eb\u2066c")) == R"("a\u202eb\u2066c")");
    }
    SECTION("printable characters beyond ASCII are kept as they are") {
        CHECK(display(std::string("Zo\u00EB \u6F22\u5B57 \U0001F600")) == quoted("Zo\u00EB \u6F22\u5B57 \U0001F600"));
    }
    SECTION("bytes that are not UTF-8") {
        CHECK(display(std::string("\xff")) == R"("\xff")");
        CHECK(display(std::string("a\xc3")) == R"("a\xc3")");                 // a sequence cut short
        CHECK(display(std::string("\xc0\xaf")) == R"("\xc0\xaf")");           // overlong '/'
        CHECK(display(std::string("\xed\xa0\x80")) == R"("\xed\xa0\x80")");   // a UTF-16 surrogate
        CHECK(display(std::string("\xf4\x90\x80\x80")) == R"("\xf4\x90\x80\x80")");  // above U+10FFFF
        CHECK(display(std::string("\x80z")) == R"("\x80z")");                 // a stray continuation byte
    }
    SECTION("the cap counts the value's bytes, and the escaped text stays short") {
        CHECK(display(std::string(64, '\n')) == quoted([] {
                  std::string s;
                  for (int i = 0; i < 64; ++i) s += "\\n";
                  return s;
              }()));
        const std::string shown = display(std::string(1 << 20, '\x01'));
        CHECK(shown.size() < 300);
        CHECK(shown.find("(1048576 bytes)") != std::string::npos);
    }
    SECTION("whatever the bytes, the result is valid UTF-8 without a line break") {
        std::string all;
        for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
        for (const std::string& s : {all, all.substr(100), std::string(63, 'a') + "\xe2\x82", all + all}) {
            const std::string shown = display(s);
            CHECK(valid_utf8(shown));
            CHECK(shown.find('\n') == std::string::npos);
            CHECK(shown.find('\r') == std::string::npos);
        }
    }
}

TEST_CASE("each string of a tuple is capped on its own", "[core][display]") {
    const std::string a(100, 'a');
    const std::string b(65, 'b');
    CHECK(display(std::make_tuple(a, b)) ==
          "(" + capped(std::string(64, 'a'), 100) + ", " + capped(std::string(64, 'b'), 65) + ")");
    CHECK(display(std::make_tuple(std::int64_t{7}, std::optional<std::string>(), std::string(64, 'c'))) ==
          "(7, NULL, " + quoted(std::string(64, 'c')) + ")");
    SECTION("tuples of references, as a composite key is read from a row") {
        CHECK(display(std::tie(a, b)) ==
              "(" + capped(std::string(64, 'a'), 100) + ", " + capped(std::string(64, 'b'), 65) + ")");
    }
}

TEST_CASE("a limit can be lifted for text that must tell every value apart", "[core][display]") {
    const std::string s = std::string(100, 'a') + "\n";
    CHECK(display(s, relstore::detail::display_whole) == quoted(std::string(100, 'a') + "\\n"));
    CHECK(display(std::make_tuple(s), relstore::detail::display_whole) ==
          "(" + quoted(std::string(100, 'a') + "\\n") + ")");
}

TEST_CASE("numbers are shown whole and exactly", "[core][display]") {
    CHECK(display(std::numeric_limits<std::int64_t>::min()) == "-9223372036854775808");
    CHECK(display(std::numeric_limits<std::uint64_t>::max()) == "18446744073709551615");
    CHECK(display(std::int8_t{-5}) == "-5");
    CHECK(display(std::uint8_t{200}) == "200");
    CHECK(display(true) == "true");
    CHECK(display(std::optional<std::int32_t>(42)) == "42");
    enum class colour : std::uint8_t { red = 3 };
    CHECK(display(colour::red) == "3");
    SECTION("floating point: the shortest text that reads back as the same value") {
        for (double d : {0.1, 0.1 + 0.2, 1e300, -2.5e-310, 123456789012345678.0, 1.0 / 3}) {
            const std::string shown = display(d);
            double back = 0;
            auto [end, ec] = std::from_chars(shown.data(), shown.data() + shown.size(), back);
            CHECK(ec == std::errc{});
            CHECK(end == shown.data() + shown.size());
            CHECK(back == d);
        }
        CHECK(display(0.1) == "0.1");
        CHECK(display(0.1f) == "0.1");
        CHECK(display(0.1 + 0.2) == "0.30000000000000004");
    }
    SECTION("whatever the global locale") {
        global_locale german(std::locale(std::locale::classic(), new german_numbers));
        CHECK(display(1234567.5) == "1234567.5");
        CHECK(display(std::int64_t{1234567}) == "1234567");
    }
}

TEST_CASE("a duplicate 1 MB string gives a short message that names the table and column",
          "[core][display][constraint]") {
    shop::store db;
    shop::fill(db);
    const std::string huge(std::size_t{1} << 20, 'n');
    const std::string shown = capped(std::string(64, 'n'), huge.size());
    auto tx = db.write();
    tx.insert(shop::Customer{.email = huge, .first = "A", .last = "B"});
    try {
        tx.insert(shop::Customer{.email = huge, .first = "C", .last = "D"});
        FAIL("no exception");
    } catch (const relstore::constraint_error& e) {
        const std::string what = e.what();
        CHECK(what.size() < 200);
        CHECK(what == "customers.email = " + shown + " already exists");
        CHECK(e.table() == "customers");
        CHECK(e.columns() == "email");
        CHECK(e.code() == relstore::errc::unique_violation);
    }
    SECTION("a composite unique constraint caps each column's value") {
        tx.insert(shop::Customer{.email = "x", .first = huge, .last = huge});
        try {
            tx.insert(shop::Customer{.email = "y", .first = huge, .last = huge});
            FAIL("no exception");
        } catch (const relstore::constraint_error& e) {
            CHECK(std::string(e.what()) == "customers.(first, last) = (" + shown + ", " + shown + ") already exists");
        }
    }
    SECTION("a foreign key to no row") {
        try {
            tx.insert(shop::Line{.order_no = 900, .line_no = 1, .customer_id = 1, .sku = huge, .qty = 1});
            FAIL("no exception");
        } catch (const relstore::constraint_error& e) {
            CHECK(std::string(e.what()) == "lines.sku = " + shown + " references no row in products");
        }
    }
    SECTION("a key that is not found") {
        try {
            (void)tx.get<shop::products>(huge);
            FAIL("no exception");
        } catch (const relstore::not_found_error& e) {
            CHECK(std::string(e.what()) == "products.sku = " + shown + " not found");
        }
    }
}

}  // namespace display_test
