// Misuses of relstore::text and relstore::bytes columns that must not
// compile; the `expect:` comment above each is the regular expression
// expect_diagnostics.cmake looks for. control.cpp's text row is the correct use.
// expect: "?relstore: a value given for a column must have the column.s type or convert to it without narrowing
#include "text_schema.hpp"

using store = relstore::store<notes>;

void misuse(store& db, relstore::text& t) {
    auto q = db.read();
    // expect: value_check<&Note::title, int>
    (void)q.where<&Note::title>(42);  // a number is not a string
    // expect: value_check<&Note::digest, char ?\[4\]>
    (void)q.where<&Note::digest>("abc");  // text is not bytes: convert explicitly (std::as_bytes)
    // expect: (use of deleted function .*relstore::text::text\(std::nullptr_t\)|invokes a deleted function)
    relstore::text null = nullptr;  // as std::string_view(nullptr): not a string
    (void)null;
    // expect: (lvalue required as left operand of assignment|expression is not assignable)
    t[0] = 'x';  // a text is immutable: assign a new value instead
}
