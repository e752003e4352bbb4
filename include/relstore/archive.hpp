#pragma once
/// @file archive.hpp
/// A whole store through Boost.Serialization archives (opt-in: not part of
/// relstore.hpp; link Boost::serialization, or its library file). Include
/// the archive classes you use (<boost/archive/text_oarchive.hpp>, ...):
///
///     boost::archive::text_oarchive oa(out);   oa << db;    // or binary_oarchive
///     boost::archive::text_iarchive ia(in);    ia >> db;    // all or nothing
///     boost::archive::xml_oarchive xa(out);    xa << boost::serialization::make_nvp("store", db);
///
/// (XML archives take every item as a name-value pair, the store too.)
///
/// Saving reads the store through one read scope. The archive holds a format
/// version, a description of the schema (tables, columns and their types,
/// keys, indexes, foreign keys, enum value names), then each table's next
/// auto key and rows, tables that others reference first and, in a
/// self-referencing table, a row after the row it references.
///
/// Loading refuses an archive of another schema (errc::schema_mismatch,
/// naming the first difference) and then inserts every row into a fresh
/// store through a transaction, so every key, unique constraint, foreign
/// key, acyclic self-reference and check applies as it does to relstore::load;
/// a next auto key that is not above every key is refused too. Only then are
/// the contents swapped in under the store's write lock (as load does): on
/// any error the store is exactly as before. Memory: the new contents and
/// the old ones until the swap.
///
/// Cells are archived as their stored values, exactly: integers, bool and
/// strings as themselves, float and double as their IEEE bits (an unsigned
/// integer: text archives would round or refuse NaN), a blob as a string of
/// hex digits, a time point or duration as its integer count, an enum as its
/// underlying integer, a column_traits type as its stored value, and a
/// nullable column as an is_null flag followed, when it is false, by the
/// value (bool and the flag as a byte, 0 or 1). An XML archive's strings must be text an XML parser reads back (no
/// NUL or other control characters but tab, LF, CR): keep bytes in blobs.

#include <relstore/detail/io.hpp>
#include <relstore/error.hpp>
#include <relstore/fields.hpp>
#include <relstore/schema_info.hpp>
#include <relstore/store.hpp>

#include <boost/archive/archive_exception.hpp>
#include <boost/serialization/level.hpp>
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/tracking.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace relstore {

namespace detail {

/// The version of the archive layout this relstore writes and reads.
inline constexpr std::uint32_t archive_format = 1;

/// The schema as one line per table, column, index and foreign key: what an
/// archive records and a load compares, line by line.
inline std::string schema_text(const schema_info& s) {
    const auto list = [](const std::vector<std::string>& names) {
        std::string out = "(";
        for (std::size_t i = 0; i < names.size(); ++i) out += (i == 0 ? "" : ", ") + names[i];
        return out + ")";
    };
    std::string out;
    for (const auto& t : s.tables) {
        out += "table " + t.name + " key " + list(t.key) + (t.auto_key ? " auto" : "") +
               (t.hashed_key ? " hashed" : " ordered") + "\n";
        for (const auto& c : t.columns) {
            out += "  column " + c.name + " " + to_string(c.type);
            if (c.type.kind == column_kind::enumeration && c.type.labels != nullptr) {
                out += " {";
                bool first = true;
                for (const auto& v : c.type.labels->values) {
                    out += (first ? "" : ", ") + std::string(v.name) + " = " + std::to_string(v.value);
                    first = false;
                }
                out += "}";
            }
            out += "\n";
        }
        for (const auto& i : t.indexes) {
            constexpr const char* kinds[] = {"", "hashed unique", "hashed", "ordered unique", "ordered"};
            out += "  index " + std::string(kinds[static_cast<int>(i.kind)]) + " " + list(i.columns) + "\n";
        }
        for (const auto& fk : t.foreign_keys)
            out += "  foreign key " + list(fk.columns) + " references " + fk.parent_table + " on delete " +
                   std::string(to_string(fk.action)) + (fk.unique ? " unique" : "") + (fk.acyclic ? " acyclic" : "") +
                   "\n";
    }
    return out;
}

/// The first line in which two schema texts differ, as a message.
inline std::string schema_difference(const std::string& archived, const std::string& ours) {
    std::size_t a = 0, b = 0;
    for (;;) {
        const std::size_t ea = archived.find('\n', a), eb = ours.find('\n', b);
        const std::string la = a < archived.size() ? archived.substr(a, ea - a) : "(nothing)";
        const std::string lb = b < ours.size() ? ours.substr(b, eb - b) : "(nothing)";
        if (la != lb) {
            std::string out = "the archive's schema differs from the store's: the archive has ";
            append_display(out, la, display_whole);
            out += " where the store has ";
            append_display(out, lb, display_whole);
            return out;
        }
        if (ea == std::string::npos || eb == std::string::npos) return "the archive's schema differs from the store's";
        a = ea + 1;
        b = eb + 1;
    }
}

/// FNV-1a over the values an archive holds, in a form that does not depend
/// on the archive's kind: a text or binary archive cut inside its last
/// string reads back NUL bytes without an error, and a damaged one reads
/// back other values; the sum at the end tells.
struct archive_sum {
    std::uint64_t value = 14695981039346656037ull;
    void add_byte(unsigned char b) noexcept { value = (value ^ b) * 1099511628211ull; }
    void add(std::uint64_t v) noexcept {
        for (int i = 0; i < 8; ++i) add_byte(static_cast<unsigned char>(v >> (8 * i)));
    }
    void add(std::string_view s) noexcept {
        add(static_cast<std::uint64_t>(s.size()));
        for (const char c : s) add_byte(static_cast<unsigned char>(c));
    }
};

/// Adds a value as the archive holds it (an integer, bool or string) to sum.
template <class P>
void add_to_sum(archive_sum& sum, const P& v) {
    if constexpr (std::is_same_v<P, std::string>)
        sum.add(std::string_view(v));
    else
        sum.add(integer_bits(v));
}

template <class Archive, class V>
void save_cell(Archive& ar, const char* name, const V& v, archive_sum& sum) {
    using boost::serialization::make_nvp;
    if constexpr (is_optional_v<V>) {
        // A byte, not a bool: Boost's binary archive asserts on a damaged
        // bool (any byte but 0 and 1) instead of reporting it.
        const std::uint8_t is_null = v.has_value() ? 0 : 1;
        ar << make_nvp("is_null", is_null);
        add_to_sum(sum, is_null);
        if (!is_null) save_cell(ar, name, *v, sum);
    } else if constexpr (std::is_same_v<V, bool>) {
        const std::uint8_t b = v ? 1 : 0;  // a byte, as is_null
        ar << make_nvp(name, b);
        add_to_sum(sum, b);
    } else if constexpr (user_column<V>) {
        save_cell(ar, name, column_traits<V>::to_stored(v), sum);
    } else if constexpr (std::is_same_v<V, text>) {
        // As a std::string, so that an archive of a text column is the
        // archive of a std::string column and loads into either.
        const std::string s(v.view());
        ar << make_nvp(name, s);
        add_to_sum(sum, s);
    } else if constexpr (is_blob_column_v<V>) {
        std::string hex;
        append_hex(hex, v);
        ar << make_nvp(name, hex);
        add_to_sum(sum, hex);
    } else if constexpr (std::is_same_v<V, float>) {
        const auto bits = std::bit_cast<std::uint32_t>(v);
        ar << make_nvp(name, bits);
        add_to_sum(sum, bits);
    } else if constexpr (std::is_same_v<V, double>) {
        const auto bits = std::bit_cast<std::uint64_t>(v);
        ar << make_nvp(name, bits);
        add_to_sum(sum, bits);
    } else if constexpr (std::is_enum_v<V>) {
        const auto u = static_cast<std::underlying_type_t<V>>(v);
        ar << make_nvp(name, u);
        add_to_sum(sum, u);
    } else if constexpr (is_time_point<V>::value) {
        const auto count = v.time_since_epoch().count();
        ar << make_nvp(name, count);
        add_to_sum(sum, count);
    } else if constexpr (is_duration<V>::value) {
        const auto count = v.count();
        ar << make_nvp(name, count);
        add_to_sum(sum, count);
    } else {
        ar << make_nvp(name, v);
        add_to_sum(sum, v);  // bool, an integer, a string
    }
}

/// Loads a cell; returns why its value is refused (empty on success).
template <class Archive, class V>
std::string load_cell(Archive& ar, const char* name, V& v, archive_sum& sum) {
    using boost::serialization::make_nvp;
    if constexpr (is_optional_v<V>) {
        std::uint8_t is_null = 0;
        ar >> make_nvp("is_null", is_null);
        add_to_sum(sum, is_null);
        if (is_null > 1) return "the null flag is " + std::to_string(is_null) + ", neither 0 nor 1";
        if (is_null == 1) {
            v.reset();
            return {};
        }
        typename V::value_type x{};
        auto why = load_cell(ar, name, x, sum);
        v = std::move(x);
        return why;
    } else if constexpr (user_column<V>) {
        typename column_traits<V>::stored_type stored{};
        if (auto why = load_cell(ar, name, stored, sum); !why.empty()) return why;
        try {
            v = column_traits<V>::from_stored(stored);
        } catch (const std::exception& e) {
            return "the stored value " + display(stored) + " is refused by its column_traits: " + e.what();
        }
    } else if constexpr (std::is_same_v<V, text>) {
        std::string s;
        ar >> make_nvp(name, s);
        add_to_sum(sum, s);
        v = s;
    } else if constexpr (is_blob_column_v<V>) {
        std::string hex;
        ar >> make_nvp(name, hex);
        add_to_sum(sum, hex);
        return parse_cell_text(hex, v);
    } else if constexpr (std::is_same_v<V, float>) {
        std::uint32_t bits = 0;
        ar >> make_nvp(name, bits);
        add_to_sum(sum, bits);
        v = std::bit_cast<float>(bits);
    } else if constexpr (std::is_same_v<V, double>) {
        std::uint64_t bits = 0;
        ar >> make_nvp(name, bits);
        add_to_sum(sum, bits);
        v = std::bit_cast<double>(bits);
    } else if constexpr (std::is_enum_v<V>) {
        std::underlying_type_t<V> u{};
        ar >> make_nvp(name, u);
        add_to_sum(sum, u);
        v = static_cast<V>(u);
    } else if constexpr (is_time_point<V>::value) {
        typename V::rep count{};
        ar >> make_nvp(name, count);
        add_to_sum(sum, count);
        v = V(typename V::duration(count));
    } else if constexpr (is_duration<V>::value) {
        typename V::rep count{};
        ar >> make_nvp(name, count);
        add_to_sum(sum, count);
        v = V(count);
    } else if constexpr (std::is_same_v<V, bool>) {
        std::uint8_t b = 0;
        ar >> make_nvp(name, b);
        add_to_sum(sum, b);
        if (b > 1) return "the bool is " + std::to_string(b) + ", neither 0 nor 1";
        v = b == 1;
    } else {
        ar >> make_nvp(name, v);
        add_to_sum(sum, v);
    }
    return {};
}

template <class Archive, class Store>
void save_store(Archive& ar, const Store& db) {
    using boost::serialization::make_nvp;
    const auto q = db.read();
    const std::uint32_t format = archive_format;
    const std::string schema = schema_text(describe<Store>());
    archive_sum sum;
    sum.add(schema);
    ar << make_nvp("format", format);
    ar << make_nvp("schema", schema);
    for_each_table_parents_first<Store>([&]<class T>(T*) {
        using Row = typename T::row_type;
        const std::string name(T::name);
        std::uint64_t next_key = 0;
        if constexpr (T::key::is_auto) next_key = integer_bits(q.template state<T>().next_key);
        const std::uint64_t rows = q.template count<T>();
        ar << make_nvp("table", name);
        ar << make_nvp("next_key", next_key);
        ar << make_nvp("rows", rows);
        sum.add(name);
        sum.add(next_key);
        sum.add(rows);
        for_each_row_parents_first<T>(q, [&](const Row& row) {
            for_each_field<Row>([&](const auto& f) { save_cell(ar, f.name.data(), row.*f.member, sum); });
        });
    });
    ar << make_nvp("checksum", sum.value);
}

[[noreturn]] inline void archive_fail(errc code, std::string_view table, std::string_view column,
                                      const std::string& row, const std::string& why) {
    input_fail("archive", table, column, row, why, code);
}

template <class Archive, class Store>
void load_store(Archive& ar, Store& db) {
    using boost::serialization::make_nvp;
    auto fresh = std::make_unique<Store>();
    try {
        std::uint32_t format = 0;
        ar >> make_nvp("format", format);
        if (format != archive_format)
            archive_fail(errc::unsupported_version, {}, {}, {},
                         "format version " + std::to_string(format) + " is not one this relstore reads (" +
                             std::to_string(archive_format) + ")");
        std::string schema;
        ar >> make_nvp("schema", schema);
        // Boost reads a string cut short as NUL bytes, without an error.
        if (schema.find('\0') != std::string::npos)
            archive_fail(errc::bad_input, {}, {}, {}, "the archive is truncated or malformed (in its schema)");
        if (const std::string ours = schema_text(describe<Store>()); schema != ours)
            archive_fail(errc::schema_mismatch, {}, {}, {}, schema_difference(schema, ours));
        archive_sum sum;
        sum.add(schema);
        auto tx = fresh->write();
        for_each_table_parents_first<Store>([&]<class T>(T*) {
            using Row = typename T::row_type;
            std::string name;
            std::uint64_t next_key = 0, rows = 0;
            ar >> make_nvp("table", name);
            if (name != T::name)
                archive_fail(errc::bad_input, T::name, {}, {}, "the archive holds table '" + name + "' in its place");
            ar >> make_nvp("next_key", next_key);
            ar >> make_nvp("rows", rows);
            sum.add(name);
            sum.add(next_key);
            sum.add(rows);
            for (std::uint64_t i = 0; i < rows; ++i) {
                Row row{};
                for_each_field<Row>([&](const auto& f) {
                    if (auto why = load_cell(ar, f.name.data(), row.*f.member, sum); !why.empty())
                        archive_fail(errc::bad_input, T::name, f.name, row_at(i), why);
                });
                try {
                    tx.template insert<T>(std::move(row));
                } catch (const constraint_error& e) {
                    rethrow_located(e, "archive", row_at(i));
                }
            }
            if constexpr (T::key::is_auto) {
                // The transaction moved next_key past every key inserted; the
                // archived one may be larger still (rows erased at the end).
                using K = typename table_state<T>::key_type;
                auto& st = fresh->template state<T>();
                const auto archived = static_cast<K>(next_key);
                if (integer_bits(archived) != next_key || archived < st.next_key)
                    archive_fail(errc::bad_input, T::name, {}, {},
                                 "the next auto key " + std::to_string(next_key) +
                                     " is not above every key of the table, or does not fit its type");
                st.next_key = archived;
            }
        });
        std::uint64_t checksum = 0;
        ar >> make_nvp("checksum", checksum);
        if (checksum != sum.value)
            archive_fail(errc::bad_input, {}, {}, {},
                         "the checksum does not match the archive's contents (the archive is damaged)");
        tx.commit();
    } catch (const boost::archive::archive_exception& e) {
        archive_fail(errc::bad_input, {}, {}, {}, std::string("the archive is truncated or malformed (") + e.what() + ")");
    } catch (const std::length_error& e) {
        // A damaged binary archive claims a string longer than memory.
        archive_fail(errc::bad_input, {}, {}, {}, std::string("the archive is truncated or malformed (") + e.what() + ")");
    } catch (const std::bad_alloc&) {
        archive_fail(errc::bad_input, {}, {}, {}, "the archive is malformed, or larger than memory (an allocation failed)");
    }
    db.swap_contents(*fresh);
    // The old contents are destroyed with fresh, after the store's lock is released.
}

}  // namespace detail

/// Saves (oa << db) or loads (ia >> db) a whole store with a Boost archive;
/// found by argument-dependent lookup. See the file's comment for what is
/// written and what a load checks.
/// @throws input_error (errc::schema_mismatch) for an archive of another
/// schema; input_error (errc::unsupported_version) for another format
/// version; input_error (errc::bad_input) for a truncated or malformed
/// archive or a value its column cannot hold; constraint_error (duplicate
/// key, unique, foreign key, cycle, check) naming the table and row. The
/// store is unchanged on every error.
template <class Archive, class... Tables>
void serialize(Archive& ar, store<Tables...>& db, const unsigned int /*version*/) {
    if constexpr (Archive::is_saving::value)
        detail::save_store(ar, std::as_const(db));
    else
        detail::load_store(ar, db);
}

}  // namespace relstore

namespace boost::serialization {

// The archive's layout is relstore's own and versioned inside it: no Boost
// class information, and no object tracking (a store is never shared by
// pointers, and tracking would warn on saving a non-const store).
template <class... Tables>
struct implementation_level_impl<const relstore::store<Tables...>> {
    typedef mpl::integral_c_tag tag;
    typedef mpl::int_<object_serializable> type;
    BOOST_STATIC_CONSTANT(int, value = implementation_level_impl::type::value);
};

template <class... Tables>
struct tracking_level<relstore::store<Tables...>> {
    typedef mpl::integral_c_tag tag;
    typedef mpl::int_<track_never> type;
    BOOST_STATIC_CONSTANT(int, value = tracking_level::type::value);
};

}  // namespace boost::serialization
