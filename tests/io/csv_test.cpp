#include "io_schema.hpp"
