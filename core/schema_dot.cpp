// relstore::schema_dot: a schema as a Graphviz digraph of HTML-like table nodes.

#include <relstore/schema_dot.hpp>

#include <algorithm>
#include <string_view>

namespace relstore {

namespace {

// HTML-like labels need &, <, > and " escaped.
std::string html(std::string_view s) {
    std::string o;
    for (char c : s) {
        switch (c) {
        case '&': o += "&amp;"; break;
        case '<': o += "&lt;"; break;
        case '>': o += "&gt;"; break;
        case '"': o += "&quot;"; break;
        default: o += c;
        }
    }
    return o;
}

// Names come from snapshot files too, so they are always quoted.
std::string quoted(std::string_view s) {
    std::string o = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        o += c;
    }
    return o + '"';
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i > 0) s += ", ";
        s += v[i];
    }
    return s;
}

std::string type_name(column_type t) {
    std::string s(to_string(t.kind));
    if (t.nullable) s += '?';
    return s;
}

std::string_view index_kind_name(index_kind k) {
    switch (k) {
    case index_kind::hashed_unique: return "unique hashed index";
    case index_kind::hashed: return "hashed index";
    case index_kind::ordered_unique: return "unique ordered index";
    case index_kind::ordered: return "ordered index";
    }
    return "index";
}

// The port of a column in its table's node; a name the table lacks (a schema
// from a damaged file) points at the first row rather than at no node.
std::size_t port(const table_info& t, const std::string& name) {
    for (std::size_t i = 0; i < t.columns.size(); ++i)
        if (t.columns[i].name == name) return i;
    return 0;
}

}  // namespace

std::string schema_dot(const schema_info& schema) {
    const auto& tables = schema.tables;
    std::string out =
        "digraph relstore {\n  rankdir=LR;\n  node [shape=plain, fontname=\"Helvetica\"];\n"
        "  edge [fontname=\"Helvetica\", fontsize=10];\n";
    for (const auto& t : tables) {
        out += "  " + quoted(t.name) + " [label=<<table border=\"0\" cellborder=\"1\" cellspacing=\"0\">\n";
        out += "    <tr><td bgcolor=\"lightgrey\"><b>" + html(t.name) + "</b></td></tr>\n";
        for (std::size_t c = 0; c < t.columns.size(); ++c) {
            const auto& col = t.columns[c];
            const bool key = std::find(t.key.begin(), t.key.end(), col.name) != t.key.end();
            out += "    <tr><td port=\"c" + std::to_string(c) + "\" align=\"left\">";
            out += (key ? "<u>" + html(col.name) + "</u>" : html(col.name)) + " : " + html(type_name(col.type));
            out += "</td></tr>\n";
        }
        for (const auto& ix : t.indexes) {
            out += "    <tr><td align=\"left\"><i>" + std::string(index_kind_name(ix.kind)) + " (" +
                   html(join(ix.columns)) + ")</i></td></tr>\n";
        }
        out += "  </table>>];\n";
    }
    for (const auto& t : tables) {
        for (const auto& fk : t.foreign_keys) {
            const auto parent = std::find_if(tables.begin(), tables.end(),
                                             [&](const table_info& p) { return p.name == fk.parent_table; });
            const std::size_t to =
                parent != tables.end() && !parent->key.empty() ? port(*parent, parent->key.front()) : 0;
            const std::size_t from = fk.columns.empty() ? 0 : port(t, fk.columns.front());
            std::string label = join(fk.columns) + " (on delete " + std::string(to_string(fk.action));
            if (fk.unique) label += ", one-to-one";
            if (fk.acyclic) label += ", acyclic";
            label += ')';
            out += "  " + quoted(t.name) + ":c" + std::to_string(from) + " -> " + quoted(fk.parent_table) + ":c" +
                   std::to_string(to) + " [label=" + quoted(label) + "];\n";
        }
    }
    out += "}\n";
    return out;
}

}  // namespace relstore
