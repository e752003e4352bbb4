// Prints the Graphviz graph of the tutorial's schema; the `docs` target
// renders it into docs/tutorial-schema.svg, the README's picture.
#include "tutorial_schema.hpp"

#include <relstore/schema_dot.hpp>

#include <iostream>

int main() { std::cout << relstore::schema_dot<tutorial::store>(); }
