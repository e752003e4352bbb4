#pragma once
/// @file csv.hpp
/// One table as CSV (RFC 4180) and back (opt-in: not part of relstore.hpp).
/// Both directions stream row by row.
///
///     relstore::write_csv<users>(db.read(), out);
///     auto tx = db.write();
///     relstore::read_csv<users>(tx, in);    // inserts every row, all or nothing
///     tx.commit();
///
/// The first record is the header: the column names, as RELSTORE_FIELDS
/// names them (read_csv takes them in any order, each exactly once).
/// Records end in CRLF (read_csv also takes LF, and skips a UTF-8 byte order
/// mark before the header). A field with a comma, a
/// quote, CR or LF is quoted and its quotes doubled. Null (an empty
/// std::optional) is an empty field; a value whose text is empty (an empty
/// string or blob) is written as "" so that it is not null. read_csv also
/// takes an empty field as the empty value of a string or blob column that
/// is not nullable, as other tools write it. Values are written as json.hpp
/// writes them, without JSON's quotes: numbers as the shortest text that
/// reads back exactly, NaN, Infinity and -Infinity; true and false; a blob
/// in lowercase hex; a sys_time or duration as its integer count of ticks;
/// a described enum by name; a column_traits type as its stored value.

#include <relstore/detail/io.hpp>
#include <relstore/error.hpp>
#include <relstore/fields.hpp>
#include <relstore/store.hpp>

#include <array>
#include <cstddef>
#include <istream>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace relstore {

namespace detail {

/// Appends one CSV field; quoted when it must be, or when it is empty and
/// not null.
inline void append_csv_field(std::string& out, std::string_view text, bool null = false) {
    if (null) return;
    if (!text.empty() && text.find_first_of(",\"\r\n") == std::string_view::npos) {
        out += text;
        return;
    }
    out += '"';
    for (const char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

template <class V>
void append_csv_cell(std::string& out, const V& v, std::string& scratch) {
    if constexpr (is_optional_v<V>) {
        if (!v)
            append_csv_field(out, {}, true);
        else
            append_csv_cell(out, *v, scratch);
    } else {
        scratch.clear();
        append_cell_text(scratch, v);
        append_csv_field(out, scratch);
    }
}

/// One field of a record as read: its text, and whether it was quoted (an
/// unquoted empty field is null).
struct csv_field {
    std::string text;
    bool quoted = false;
};

/// Reads RFC 4180 records from a stream buffer, one at a time, counting lines.
class csv_reader {
public:
    csv_reader(std::streambuf* in, std::string_view table) : in_(in), table_(table) {}

    /// Reads the next record into fields; false at the end of the input.
    /// @throws input_error for an unclosed quote or text after a closing one.
    bool next(std::vector<csv_field>& fields) {
        using traits = std::char_traits<char>;
        fields.clear();
        record_line_ = line_;
        int c = in_->sbumpc();
        if (c == traits::eof()) return false;
        for (;;) {
            csv_field& f = fields.emplace_back();
            if (c == '"') {
                f.quoted = true;
                for (;;) {
                    c = in_->sbumpc();
                    if (c == traits::eof())
                        input_fail("csv", table_, {}, where(),
                                   "a quoted field is not closed (the input ends inside it)");
                    if (c == '\n') ++line_;
                    if (c == '"') {
                        if (in_->sgetc() != '"') break;
                        in_->sbumpc();
                    }
                    f.text += traits::to_char_type(c);
                }
                c = in_->sbumpc();
                if (c != ',' && c != '\r' && c != '\n' && c != traits::eof())
                    input_fail("csv", table_, {}, where(), "text after the closing quote of a field");
            } else {
                while (c != ',' && c != '\r' && c != '\n' && c != traits::eof()) {
                    if (c == '"')
                        input_fail("csv", table_, {}, where(),
                                   "a quote inside an unquoted field (quote the field and double the quote)");
                    f.text += traits::to_char_type(c);
                    c = in_->sbumpc();
                }
            }
            if (c == ',') {
                c = in_->sbumpc();
                continue;
            }
            if (c == '\r' && in_->sgetc() == '\n') in_->sbumpc();
            if (c != traits::eof()) ++line_;
            return true;
        }
    }

    /// "line N": where the last record read starts, counted from 1.
    [[nodiscard]] std::string where() const { return "line " + std::to_string(record_line_); }

private:
    std::streambuf* in_;
    std::string_view table_;
    std::size_t line_ = 1;
    std::size_t record_line_ = 1;
};

/// Reads a field into a cell; returns why it could not (empty on success).
template <class V>
std::string cell_from_csv(const csv_field& f, V& v) {
    if constexpr (is_optional_v<V>) {
        if (!f.quoted && f.text.empty()) {
            v.reset();
            return {};
        }
        typename V::value_type x{};
        auto why = cell_from_csv(f, x);
        if (why.empty()) v = std::move(x);
        return why;
    } else {
        constexpr bool may_be_empty = is_string_column_v<V> || is_blob_column_v<V>;
        if (!may_be_empty && !f.quoted && f.text.empty())
            return "an empty field (null) in a column that is not nullable (" + type_name<V>() + ")";
        return parse_cell_text(f.text, v);
    }
}

}  // namespace detail

/// Writes table T as q sees it as CSV: a header, then one record per row, a
/// row of a self-referencing table after the row it references (so that
/// read_csv can insert them in order).
/// @throws error (io) when the stream fails.
template <class T, class Store>
    requires Store::template has_table<T>
void write_csv(const reader<Store>& q, std::ostream& os) {
    using Row = typename T::row_type;
    std::string line, scratch;
    bool first = true;
    for_each_field<Row>([&](const auto& f) {
        if (!first) line += ',';
        first = false;
        detail::append_csv_field(line, f.name);
    });
    line += "\r\n";
    os.write(line.data(), static_cast<std::streamsize>(line.size()));
    detail::for_each_row_parents_first<T>(q, [&](const Row& row) {
        line.clear();
        bool first_field = true;
        for_each_field<Row>([&](const auto& f) {
            if (!first_field) line += ',';
            first_field = false;
            detail::append_csv_cell(line, row.*f.member, scratch);
        });
        line += "\r\n";
        os.write(line.data(), static_cast<std::streamsize>(line.size()));
    });
    if (!os) throw error(errc::io, "csv: the output stream failed");
}

/// Reads what write_csv<T> writes and inserts every row through tx, so every
/// key, unique, foreign key and check applies to each row; a referenced row
/// must come before the rows that reference it, and the tables they
/// reference must be read first. Keys are inserted as given; an auto key of
/// 0 gets the next key. The rows go in through a savepoint: if anything
/// fails, tx is as before the call (the store is unchanged until tx
/// commits). Returns the number of rows inserted.
/// @throws input_error (errc::bad_input) for a malformed record, a header
/// that misses a column, names one twice or names an unknown one, a record
/// with another number of fields, or a value its column cannot hold, naming
/// the table, line (counted from 1), column and value; constraint_error as
/// insert throws it, with the table and line before the store's message.
template <class T, class Store>
    requires Store::template has_table<T>
std::size_t read_csv(transaction<Store>& tx, std::istream& is) {
    using Row = typename T::row_type;
    constexpr std::size_t n = field_count<Row>;
    auto sp = tx.savepoint();
    detail::csv_reader in(is.rdbuf(), T::name);
    std::vector<detail::csv_field> fields;
    if (is.rdbuf() == nullptr || !in.next(fields))
        detail::input_fail("csv", T::name, {}, {}, "the input is empty (a header is needed)");
    // A UTF-8 byte order mark, as spreadsheets write one, is not part of the first name.
    if (fields.front().text.starts_with("\xEF\xBB\xBF")) fields.front().text.erase(0, 3);
    // For each field of Row, its position in the records.
    std::array<std::size_t, n> at{};
    {
        std::array<bool, n> found{};
        for (std::size_t i = 0; i < fields.size(); ++i) {
            std::size_t k = 0, which = n;
            for_each_field<Row>([&](const auto& f) {
                if (f.name == fields[i].text) which = k;
                ++k;
            });
            if (which == n) detail::input_fail("csv", T::name, fields[i].text, in.where(), "no such column in the table");
            if (found[which])
                detail::input_fail("csv", T::name, fields[i].text, in.where(), "the header names the column twice");
            found[which] = true;
            at[which] = i;
        }
        std::size_t k = 0;
        for_each_field<Row>([&](const auto& f) {
            if (!found[k++]) detail::input_fail("csv", T::name, f.name, in.where(), "the header lacks the column");
        });
    }
    std::size_t rows = 0;
    while (in.next(fields)) {
        if (fields.size() != n)
            detail::input_fail("csv", T::name, {}, in.where(),
                               std::to_string(fields.size()) + " field(s), but the header names " + std::to_string(n));
        Row row{};
        std::size_t k = 0;
        for_each_field<Row>([&](const auto& f) {
            if (auto why = detail::cell_from_csv(fields[at[k++]], row.*f.member); !why.empty())
                detail::input_fail("csv", T::name, f.name, in.where(), why);
        });
        try {
            tx.template insert<T>(std::move(row));
        } catch (const constraint_error& e) {
            detail::rethrow_located(e, "csv", in.where());
        }
        ++rows;
    }
    sp.release();
    return rows;
}

}  // namespace relstore
