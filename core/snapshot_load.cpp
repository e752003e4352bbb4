// Matching a snapshot's schema to a program's before a load decodes any row
// (the typed rest of a load is in include/relstore/snapshot.hpp).

#include "snapshot_internal.hpp"

#include <relstore/snapshot_format.hpp>

#include <algorithm>
#include <string>

namespace relstore::detail {

namespace {

std::string table_list(const schema_info& s) {
    if (s.tables.empty()) return "none";
    std::string out;
    for (const auto& t : s.tables) out += (out.empty() ? "" : ", ") + t.name;
    return out;
}

// True when cells written as `file` decode as `program` and mean the same:
// equal types, except that an enum's names are for showing only, so an
// enumeration matches another of the same count type, or that integer kind
// (an enum that gained or lost its RELSTORE_ENUM). A timestamp or duration
// of another precision or count type does not match, though an int64 would
// decode: milliseconds read as seconds would be silently wrong.
bool loads_as(const column_type& file, const column_type& program) {
    if (file.nullable != program.nullable) return false;
    const auto integer_of = [](const column_type& t) {
        return t.kind == column_kind::enumeration ? t.rep : t.kind;
    };
    if (file.kind == column_kind::enumeration || program.kind == column_kind::enumeration)
        return is_integer_kind(integer_of(file)) && integer_of(file) == integer_of(program);
    return file == program;
}

const table_info* find(const schema_info& s, const std::string& name) {
    const auto it = std::find_if(s.tables.begin(), s.tables.end(), [&](const table_info& t) { return t.name == name; });
    return it == s.tables.end() ? nullptr : &*it;
}

}  // namespace

load_plan plan_load(const snapshot_reader& r, const schema_info& program, const load_options& opt) {
    const auto& snap = r.schema();
    auto mismatch = [&](const std::string& msg) { snapshot_fail(errc::schema_mismatch, r.name(), std::nullopt, msg); };

    // Loading replaces every table, so a file of another program (or of none)
    // would empty the store while looking like a success.
    const bool shared = std::any_of(program.tables.begin(), program.tables.end(),
                                    [&](const table_info& t) { return find(snap, t.name) != nullptr; });
    if (!shared)
        mismatch("the snapshot shares no table with the program (the snapshot's tables: " + table_list(snap) +
                 "; the program's: " + table_list(program) + "); loading it would empty every table");

    load_plan plan;
    for (const auto& t : snap.tables) {
        if (find(program, t.name) != nullptr) continue;
        if (!opt.drop_unknown_tables)
            mismatch("table '" + t.name +
                     "' is not in the program's schema; load with load_options{.drop_unknown_tables = true} to drop it");
        plan.report.tables_dropped.push_back(t.name);
    }
    for (const auto& t : program.tables) {
        if (find(snap, t.name) != nullptr) continue;
        if (!opt.empty_missing_tables)
            mismatch("table '" + t.name +
                     "' of the program is not in the snapshot; load with load_options{.empty_missing_tables = true} "
                     "to load it empty");
        plan.report.tables_filled_empty.push_back(t.name);
    }

    plan.tables.reserve(program.tables.size());
    for (const auto& want : program.tables) {
        auto& p = plan.tables.emplace_back();
        p.source = r.find_table(want.name);
        if (!p.source) continue;
        const auto& have = snap.tables[*p.source];
        p.same_columns = have.columns.size() == want.columns.size() &&
                         std::equal(have.columns.begin(), have.columns.end(), want.columns.begin(),
                                    [](const column_info& a, const column_info& b) {
                                        return a.name == b.name && loads_as(a.type, b.type);
                                    });
        if (p.same_columns) continue;
        for (const auto& c : have.columns) {
            const auto it = std::find_if(want.columns.begin(), want.columns.end(),
                                         [&](const column_info& w) { return w.name == c.name; });
            const std::string col = "column '" + have.name + "." + c.name + "'";
            if (it == want.columns.end()) {
                if (!opt.drop_unknown_columns)
                    mismatch(col + " is not in the program's schema; load with "
                                   "load_options{.drop_unknown_columns = true} to drop it");
                plan.report.columns_dropped.push_back(have.name + "." + c.name);
                p.column_target.push_back(load_plan::no_column);
            } else if (!loads_as(c.type, it->type)) {
                mismatch(col + " changed type: " + to_string(c.type) + " in the snapshot, " + to_string(it->type) +
                         " in the program");
            } else {
                p.column_target.push_back(static_cast<std::size_t>(it - want.columns.begin()));
            }
        }
        for (const auto& w : want.columns)
            if (std::none_of(have.columns.begin(), have.columns.end(),
                             [&](const column_info& c) { return c.name == w.name; }))
                plan.report.columns_defaulted.push_back(want.name + "." + w.name);
    }
    return plan;
}

}  // namespace relstore::detail
